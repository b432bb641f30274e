/// Release tags from a version, the way docker/metadata-action's `type=semver` patterns
/// `{{version}}`, `{{major}}.{{minor}}`, `{{major}}` with `latest=auto` produce them, so a
/// SIF is tagged like the image built from the same release.
public enum SemverTags {
    /// `v1.2.3` → `1.2.3 1.2 1 latest`; `v1.2.3-rc.1` → `1.2.3-rc.1` only (a pre-release must
    /// not move the floating tags); `v0.4.1` → `0.4.1 0.4 latest` (no `0`: every 0.x would
    /// claim it, and 0.x promises no compatibility). Build metadata is dropped, as node-semver's
    /// `version` drops it and `+` is not allowed in a tag.
    public static func expand(_ text: String) throws(PublishError) -> [String] {
        let version = try Version(parsing: text)
        let full = "\(version.major).\(version.minor).\(version.patch)"
        if let pre = version.prerelease { return [full + "-" + pre] }
        var tags = [full, "\(version.major).\(version.minor)"]
        if version.major != "0" { tags.append(version.major) }
        tags.append("latest")
        return tags
    }

    /// The parts of a semantic version (semver.org 2.0.0, strict, with an optional `v`).
    struct Version {
        var major: String
        var minor: String
        var patch: String
        var prerelease: String?
        var build: String?

        init(parsing text: String) throws(PublishError) {
            var rest = Substring(text)
            if rest.hasPrefix("v") { rest = rest.dropFirst() }
            if let plus = rest.firstIndex(of: "+") {
                let build = rest[rest.index(after: plus)...]
                guard Self.identifiers(build, numericRule: false) else {
                    throw .invalidVersion(text, reason: "bad build metadata \"\(build)\"")
                }
                self.build = String(build)
                rest = rest[..<plus]
            }
            if let dash = rest.firstIndex(of: "-") {
                let pre = rest[rest.index(after: dash)...]
                guard Self.identifiers(pre, numericRule: true) else {
                    throw .invalidVersion(text, reason: "bad pre-release \"\(pre)\"")
                }
                prerelease = String(pre)
                rest = rest[..<dash]
            }
            let core = rest.split(separator: ".", omittingEmptySubsequences: false)
            guard core.count == 3 else { throw .invalidVersion(text, reason: "needs three numbers MAJOR.MINOR.PATCH") }
            for part in core where !Self.isNumber(part) {
                throw .invalidVersion(text, reason: "\"\(part)\" is not a number without leading zeros")
            }
            (major, minor, patch) = (String(core[0]), String(core[1]), String(core[2]))
        }

        static func isNumber(_ part: Substring) -> Bool {
            guard !part.isEmpty, part.count <= 20, part.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return false }
            return part == "0" || !part.hasPrefix("0")
        }

        /// Dot-separated non-empty `[0-9A-Za-z-]+`; in a pre-release a numeric identifier may
        /// not have leading zeros.
        static func identifiers(_ text: Substring, numericRule: Bool) -> Bool {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            return parts.allSatisfy { part in
                guard !part.isEmpty, part.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") })
                else { return false }
                let numeric = part.utf8.allSatisfy { (0x30...0x39).contains($0) }
                return !(numericRule && numeric && part.count > 1 && part.hasPrefix("0"))
            }
        }
    }

    /// Checks a tag against the distribution grammar `[\w][\w.-]{0,127}`.
    public static func validate(tag: String) throws(PublishError) {
        let bytes = Array(tag.utf8)
        func word(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == 0x5F }
        guard let first = bytes.first, word(first), bytes.count <= 128, bytes.allSatisfy({ word($0) || $0 == 0x2E || $0 == 0x2D }) else {
            throw .invalidTag(tag)
        }
    }
}
