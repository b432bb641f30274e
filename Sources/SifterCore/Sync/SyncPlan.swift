import Foundation
import OCISpec

/// One conversion of a sync run: a concrete source (a tag or digest) and where its SIFs go.
public struct SyncItem: Sendable, Hashable {
    public enum Output: Sendable, Hashable {
        /// SIF files in a directory, one per platform (`NAME_TAG.sif`, or `NAME_TAG_ARCH.sif`
        /// when there are several platforms).
        case files(directory: String, files: [PlatformFile])
        /// `oras://REGISTRY/REPOSITORY` and the tag to set: an artifact, or an index of one
        /// artifact per platform when there are several.
        case registry(repository: String, tag: String)
    }

    public struct PlatformFile: Sendable, Hashable {
        public var platform: Platform
        public var path: String
    }

    /// The entry's `FILE:LINE`.
    public var place: String
    public var source: String
    public var output: Output
    public var platforms: [Platform]
    public var compression: String
    public var blockSize: Int?

    /// What the item writes, unique in a plan: the shard is chosen by it.
    public var key: String {
        switch output {
        case let .files(directory, files): files.count == 1 ? files[0].path : directory + "/" + stem(files)
        case let .registry(repository, tag): repository + ":" + tag
        }
    }

    public var destinationText: String {
        switch output {
        case let .files(_, files): files.map(\.path).joined(separator: ", ")
        case let .registry(repository, tag): repository + ":" + tag
        }
    }

    private func stem(_ files: [PlatformFile]) -> String {
        let name = URL(fileURLWithPath: files[0].path).lastPathComponent
        return String(name.prefix { $0 != "_" }) + "…"
    }
}

/// An entry whose tags could not be listed: reported as failed, in one shard only.
public struct SyncEntryFailure: Sendable {
    public var place: String
    public var source: String
    public var destination: String
    public var error: any Error
    public var key: String { "entry " + place + " " + source }
}

/// The items of a wishlist after listing tags, each with its shard.
public struct SyncPlan: Sendable {
    public var items: [SyncItem]
    public var failures: [SyncEntryFailure]
    /// Every directory destination of the wishlist, for `--prune`.
    public var directories: [String]

    /// The items and failures of shard `shard`.
    public func share(_ shard: SyncShard) -> SyncPlan {
        SyncPlan(items: items.filter { shard.owns($0.key) }, failures: failures.filter { shard.owns($0.key) }, directories: directories)
    }
}

/// `--shard I/N`: shard I of N takes the items whose key hashes to I, so N runs on N machines
/// split a wishlist with no coordination, never overlap, and keep their share from run to run.
public struct SyncShard: Sendable, Hashable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public static let whole = SyncShard(index: 0, count: 1)

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, (0..<count).contains(index) else {
            throw SyncError.invalidShard(text)
        }
        self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }

    public func owns(_ key: String) -> Bool { Self.bucket(of: key, count: count) == index }

    /// The key's 64-bit FNV-1a hash, its bits mixed by MurmurHash3's finaliser (FNV-1a alone
    /// leaves the low bits of keys that differ in one character too alike), modulo the count:
    /// the same on every machine and every run, unlike Swift's seeded `hashValue`.
    public static func bucket(of key: String, count: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        hash &*= 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return Int(hash % UInt64(count))
    }

    /// GitHub Actions' `strategy.matrix` for N shards: `{"shard":["0/N",…]}`.
    public static func matrix(_ count: Int) -> String {
        JSONValue.object([("shard", .array((0..<count).map { .string("\($0)/\(count)") }))]).rendered(indentString: "")
    }
}

extension Wishlist {
    /// Expands every entry into items: a tag or digest as it is, a repository through its tag
    /// list (`listTags` gets the source repository's tags; a failure fails that entry only).
    /// Two items writing the same output are an error.
    public func plan(listTags: (ImageReference) throws -> [String]) throws -> SyncPlan {
        var items: [SyncItem] = []
        var failures: [SyncEntryFailure] = []
        var directories: [String] = []
        var owners: [String: String] = [:]
        for entry in entries {
            if case let .directory(path) = entry.destination, !directories.contains(path) { directories.append(path) }
            let sources: [String]
            if let selection = entry.selection {
                do {
                    let repository = try ImageReference.parse(entry.source)
                    sources = selection.select(from: try listTags(repository)).map { entry.source + ":" + $0 }
                } catch {
                    failures.append(SyncEntryFailure(place: entry.place, source: entry.source, destination: entry.destination.description, error: error))
                    continue
                }
            } else {
                sources = [entry.source]
            }
            for source in sources {
                let item = try Self.item(entry, source: source)
                if let other = owners[item.key] { throw SyncError.duplicateOutput(item.key, places: [other, entry.place]) }
                owners[item.key] = entry.place
                items.append(item)
            }
        }
        return SyncPlan(items: items, failures: failures, directories: directories)
    }

    static func item(_ entry: Entry, source: String) throws -> SyncItem {
        let (name, tag) = try names(of: source, place: entry.place)
        let output: SyncItem.Output
        switch entry.destination {
        case let .directory(directory):
            let stem = (entry.name ?? name) + (tag.map { "_" + $0 } ?? "")
            let files = entry.platforms.map { platform in
                SyncItem.PlatformFile(platform: platform, path: directory + "/" + stem
                    + (entry.platforms.count > 1 ? "_" + PlatformIndex.tagSuffix(platform) : "") + ".sif")
            }
            output = .files(directory: directory, files: files)
        case let .repository(repository), let .namespace(repository):
            var text = repository
            if case .namespace = entry.destination { text += "/" + (entry.name ?? name).lowercased() }
            guard let destinationTag = entry.tag ?? tag else {
                throw SyncError.wishlist(place: entry.place, reason: "\(source) has no tag to push under: add tag: to the entry")
            }
            do {
                _ = try PushTarget(parsing: text + ":" + destinationTag)
            } catch {
                throw SyncError.wishlist(place: entry.place, reason: "destination \(text):\(destinationTag): \(error)")
            }
            output = .registry(repository: text, tag: destinationTag)
        }
        return SyncItem(place: entry.place, source: source, output: output, platforms: entry.platforms,
                        compression: entry.compression, blockSize: entry.blockSize)
    }

    /// The image's name (the repository's or file's last component) and its tag, or for a
    /// digest without tag `sha256-<12 hex>` (so a pinned image has a stable file name).
    static func names(of source: String, place: String) throws -> (String, String?) {
        if source.hasPrefix("docker://") {
            let reference: ImageReference
            do { reference = try ImageReference.parse(source) } catch {
                throw SyncError.wishlist(place: place, reason: "\(source): \(error)")
            }
            let name = String(reference.repository.split(separator: "/").last ?? "image")
            // The tag as written (`:latest` is filled in by the parser when none is).
            let last = source.dropFirst("docker://".count).split(separator: "/").last ?? ""
            let writesTag = (last.split(separator: "@", maxSplits: 1).first ?? "").contains(":")
            if !writesTag, let digest = reference.digest { return (name, "sha256-" + String(digest.hex.prefix(12))) }
            return (name, reference.tag)
        }
        // oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REF]
        let rest = String(source.drop { $0 != ":" }.dropFirst())
        var path = rest
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[rest.index(after: colon)...].contains("/") {
            path = String(rest[..<colon])
            tag = String(rest[rest.index(after: colon)...]).split(separator: ":").last.map(String.init)
        }
        var name = URL(fileURLWithPath: path).lastPathComponent
        for suffix in [".tar.gz", ".tgz", ".tar"] where name.hasSuffix(suffix) { name = String(name.dropLast(suffix.count)) }
        guard Wishlist.isSafeName(name) else {
            throw SyncError.wishlist(place: place, reason: "cannot name a SIF after \(source): add name: to the entry")
        }
        if let given = tag, !Wishlist.isSafeName(given) { tag = nil }
        return (name, tag)
    }
}
