import Foundation

/// Which tags of a source repository a wishlist entry converts: shell globs (`1.2.*`,
/// `main`), a semver range over the tags that are versions, or both (a tag must pass both),
/// optionally only the `newest` N versions.
public struct TagSelection: Sendable, Hashable {
    public var patterns: [String]
    public var versions: SemverRange?
    public var newest: Int?

    public init(patterns: [String] = [], versions: SemverRange? = nil, newest: Int? = nil) {
        self.patterns = patterns
        self.versions = versions
        self.newest = newest
    }

    /// The chosen tags of `tags`, in a stable order: versions highest first, then other tags
    /// by name.
    public func select(from tags: [String]) -> [String] {
        var chosen = tags.filter { tag in
            patterns.isEmpty || patterns.contains { fnmatch($0, tag, 0) == 0 }
        }
        if let versions {
            var matched: [(version: TagVersion, tag: String)] = []
            for tag in chosen {
                if let version = TagVersion(tag), versions.contains(version) { matched.append((version, tag)) }
            }
            matched.sort { lhs, rhs in lhs.version == rhs.version ? lhs.tag < rhs.tag : rhs.version < lhs.version }
            chosen = matched.map(\.tag)
            if let newest { chosen = Array(chosen.prefix(newest)) }
        } else {
            chosen.sort()
        }
        var seen = Set<String>()
        return chosen.filter { seen.insert($0).inserted }
    }
}

/// A tag that is a release version: `MAJOR.MINOR.PATCH`, an optional `v` first, an optional
/// `-pre-release`; build metadata after `+` is ignored (tags cannot hold `+` anyway).
public struct TagVersion: Sendable, Hashable, Comparable {
    public var core: [Int]
    public var prerelease: [String]

    public init?(_ tag: String) {
        var text = Substring(tag)
        if text.hasPrefix("v") { text = text.dropFirst() }
        if let plus = text.firstIndex(of: "+") { text = text[..<plus] }
        var pre: [String] = []
        if let dash = text.firstIndex(of: "-") {
            pre = text[text.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard pre.allSatisfy({ !$0.isEmpty }) else { return nil }
            text = text[..<dash]
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var core: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 9, part.allSatisfy({ $0.isASCII && $0.isNumber }), part == "0" || !part.hasPrefix("0"),
                let number = Int(part)
            else { return nil }
            core.append(number)
        }
        self.core = core
        prerelease = pre
    }

    init(core: [Int]) {
        self.core = core
        prerelease = []
    }

    /// semver.org precedence: the core, then a pre-release is lower than none, then the
    /// pre-release identifiers (numbers below words).
    public static func < (lhs: TagVersion, rhs: TagVersion) -> Bool {
        if lhs.core != rhs.core { return lhs.core.lexicographicallyPrecedes(rhs.core) }
        if lhs.prerelease.isEmpty != rhs.prerelease.isEmpty { return !lhs.prerelease.isEmpty }
        for (a, b) in zip(lhs.prerelease, rhs.prerelease) where a != b {
            switch (Int(a), Int(b)) {
            case let (x?, y?): return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a < b
            }
        }
        return lhs.prerelease.count < rhs.prerelease.count
    }
}

/// A range of versions as npm's semver writes them: comparators joined by spaces (all must
/// hold), alternatives joined by `||`. Comparators: `>=1.2.0`, `>1.2`, `<2`, `<=1.4.x`,
/// `=1.2.3`, `1.2` (any 1.2.z), `^1.2.3` (same major; same minor below 1.0), `~1.2.3` (same
/// minor), `*`. Pre-release tags are never in a range: a fleet follows releases.
public struct SemverRange: Sendable, Hashable, CustomStringConvertible {
    public let description: String
    /// Alternatives, each a list of bounds that must all hold.
    private let alternatives: [[Bound]]

    private struct Bound: Hashable {
        enum Kind: Hashable { case atLeast, above, below, atMost }
        var kind: Kind
        var version: [Int]

        func holds(_ core: [Int]) -> Bool {
            switch kind {
            case .atLeast: !core.lexicographicallyPrecedes(version)
            case .above: version.lexicographicallyPrecedes(core)
            case .below: core.lexicographicallyPrecedes(version)
            case .atMost: !version.lexicographicallyPrecedes(core)
            }
        }
    }

    public init(parsing text: String) throws {
        description = text
        var alternatives: [[Bound]] = []
        for alternative in text.components(separatedBy: "||") {
            let comparators = alternative.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            var bounds: [Bound] = []
            for comparator in comparators.isEmpty ? ["*"] : comparators {
                bounds += try Self.bounds(comparator, in: text)
            }
            alternatives.append(bounds)
        }
        self.alternatives = alternatives
    }

    public func contains(_ version: TagVersion) -> Bool {
        guard version.prerelease.isEmpty else { return false }
        return alternatives.contains { $0.allSatisfy { $0.holds(version.core) } }
    }

    private static func bounds(_ comparator: String, in text: String) throws -> [Bound] {
        var rest = Substring(comparator)
        var op = ""
        for candidate in [">=", "<=", ">", "<", "=", "^", "~"] where rest.hasPrefix(candidate) {
            op = candidate
            rest = rest.dropFirst(candidate.count)
            break
        }
        if rest.hasPrefix("v") { rest = rest.dropFirst() }
        // The numbers written before a wildcard: `1.2.x` is `1.2`, `*` is nothing.
        var numbers: [Int] = []
        var wildcard = false
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 3, !rest.isEmpty else { throw invalid(comparator, text) }
        for part in parts {
            if ["x", "X", "*"].contains(part) {
                wildcard = true
                continue
            }
            guard !wildcard, !part.isEmpty, part.count <= 9, part.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(part) else {
                throw invalid(comparator, text)
            }
            numbers.append(number)
        }
        let low = numbers + Array(repeating: 0, count: 3 - numbers.count)
        // The first version past everything the written numbers cover (`1.2` → `1.3.0`).
        func next(_ position: Int) -> [Int] {
            guard position >= 0 else { return [Int.max, 0, 0] }
            var value = Array(numbers.prefix(position + 1)) + Array(repeating: 0, count: 2 - position)
            value[position] += 1
            return value
        }
        let partialEnd = next(numbers.count - 1)
        switch op {
        case "", "=":
            return numbers.count == 3 ? [Bound(kind: .atLeast, version: low), Bound(kind: .atMost, version: low)]
                : numbers.isEmpty ? [] : [Bound(kind: .atLeast, version: low), Bound(kind: .below, version: partialEnd)]
        case ">=": return numbers.isEmpty ? [] : [Bound(kind: .atLeast, version: low)]
        case ">": return numbers.isEmpty ? [Bound(kind: .below, version: [0, 0, 0])]
            : numbers.count == 3 ? [Bound(kind: .above, version: low)] : [Bound(kind: .atLeast, version: partialEnd)]
        case "<": return numbers.isEmpty ? [Bound(kind: .below, version: [0, 0, 0])] : [Bound(kind: .below, version: low)]
        case "<=": return numbers.isEmpty ? [] : numbers.count == 3 ? [Bound(kind: .atMost, version: low)] : [Bound(kind: .below, version: partialEnd)]
        case "^":
            // The first non-zero number written may not change (the last written one if all are zero).
            let position = numbers.firstIndex { $0 != 0 } ?? max(numbers.count - 1, 0)
            return numbers.isEmpty ? [] : [Bound(kind: .atLeast, version: low), Bound(kind: .below, version: next(min(position, numbers.count - 1)))]
        case "~":
            return numbers.isEmpty ? [] : [Bound(kind: .atLeast, version: low), Bound(kind: .below, version: next(min(1, numbers.count - 1)))]
        default:
            throw invalid(comparator, text)
        }
    }

    private static func invalid(_ comparator: String, _ text: String) -> SyncError {
        .wishlist(place: "versions", reason: "\"\(comparator)\" in \"\(text)\" is not a version comparator (examples: >=1.2.0 <2, ^1.4, ~2.1.0, 1.x)")
    }
}
