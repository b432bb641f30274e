import Foundation
import OCISpec

/// Which tags `sifter prune` deletes. Only tags matching one of `match` (shell globs; none
/// means every tag) are candidates; of those, newest first by created time, the first `keep`
/// stay, and of the rest those created more than `olderThan` seconds ago go (every one of
/// the rest when no age is given). A tag without a created time is never deleted.
public struct RetentionPolicy: Sendable, Hashable {
    public var match: [String]
    public var keep: Int?
    public var olderThan: TimeInterval?
    /// Also delete the per-platform manifests of deleted indexes that no kept tag reaches.
    public var untagged: Bool

    public init(match: [String] = [], keep: Int? = nil, olderThan: TimeInterval? = nil, untagged: Bool = false) {
        self.match = match
        self.keep = keep
        self.olderThan = olderThan
        self.untagged = untagged
    }

    public func matches(_ tag: String) -> Bool {
        match.isEmpty || match.contains { fnmatch($0, tag, 0) == 0 }
    }
}

/// A tag as prune sees it.
public struct TagRecord: Sendable, Hashable {
    public var tag: String
    public var digest: Digest
    public var mediaType: String
    /// Unix seconds, from `org.opencontainers.image.created` or the image config's `created`.
    public var created: Int64?
    /// The manifests an index lists (empty for a manifest).
    public var children: [Digest]
}

/// What prune decided, before or after doing it.
public struct PrunePlan: Sendable {
    public enum Decision: Sendable, Hashable {
        case delete
        case keepUnmatched
        case keepNewest(rank: Int)
        case keepRecent
        case keepUndated
        /// Selected, but its digest is also reached by kept tags (a DELETE by digest would
        /// remove them too).
        case keepShared(with: [String])

        public var deletes: Bool { self == .delete }
    }

    public var tags: [(record: TagRecord, decision: Decision)]
    /// Digests to DELETE, in order: indexes before the manifests they list.
    public var digests: [Digest]
    /// Of `digests`, those only reached through deleted indexes (`--untagged`).
    public var untagged: [Digest]
}

extension PrunePlan {
    /// Decides for `records` under `policy` at time `now`.
    public static func decide(_ records: [TagRecord], policy: RetentionPolicy, now: Int64) -> PrunePlan {
        let candidates = records.filter { policy.matches($0.tag) }
            .sorted { ($0.created ?? Int64.min, $0.tag) > ($1.created ?? Int64.min, $1.tag) }
        var decisions: [String: Decision] = [:]
        for record in records where !policy.matches(record.tag) { decisions[record.tag] = .keepUnmatched }
        var rank = 0
        for record in candidates {
            guard let created = record.created else {
                decisions[record.tag] = .keepUndated
                continue
            }
            rank += 1
            if let keep = policy.keep, rank <= keep {
                decisions[record.tag] = .keepNewest(rank: rank)
            } else if let olderThan = policy.olderThan, Double(now - created) <= olderThan {
                decisions[record.tag] = .keepRecent
            } else if policy.keep == nil, policy.olderThan == nil {
                decisions[record.tag] = .keepRecent
            } else {
                decisions[record.tag] = .delete
            }
        }
        // What the kept tags reach may not be deleted.
        var reachedBy: [Digest: [String]] = [:]
        for record in records where decisions[record.tag]?.deletes != true {
            for digest in [record.digest] + record.children { reachedBy[digest, default: []].append(record.tag) }
        }
        for record in records where decisions[record.tag] == .delete {
            if let keepers = reachedBy[record.digest] { decisions[record.tag] = .keepShared(with: keepers.sorted()) }
        }
        let ordered = records.sorted { ($0.created ?? Int64.min, $0.tag) > ($1.created ?? Int64.min, $1.tag) }
        let deleted = ordered.filter { decisions[$0.tag] == .delete }
        // Indexes first, so no index is left listing a manifest already gone; oldest first.
        var digests: [Digest] = []
        for record in deleted.filter({ !$0.children.isEmpty }).reversed() + deleted.filter({ $0.children.isEmpty }).reversed()
        where !digests.contains(record.digest) {
            digests.append(record.digest)
        }
        var untagged: [Digest] = []
        if policy.untagged {
            for child in deleted.flatMap(\.children) where reachedBy[child] == nil && !digests.contains(child) && !untagged.contains(child) {
                untagged.append(child)
            }
        }
        return PrunePlan(tags: ordered.map { ($0, decisions[$0.tag] ?? .keepUnmatched) }, digests: digests + untagged, untagged: untagged)
    }
}
