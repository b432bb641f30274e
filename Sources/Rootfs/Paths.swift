/// Path names are raw bytes throughout: layer tars may hold names that are not UTF-8, and
/// decoding them would rename files.
typealias Name = [UInt8]

enum Paths {
    static let slash = UInt8(ascii: "/")
    static let dot: Name = [UInt8(ascii: ".")]
    static let dotDot: Name = [UInt8(ascii: "."), UInt8(ascii: ".")]
    static let whiteoutPrefix: Name = Array(".wh.".utf8)
    static let opaqueMarker: Name = Array(".wh..wh..opq".utf8)

    /// Lexical clean of a member name inside the root, as umoci's `CleanPath`
    /// (`filepath.Clean("/" + name)`): empty and `.` components vanish, `..` pops and never
    /// climbs above the root, so `/a/../../b` becomes `["b"]` and `./` becomes `[]` (the root).
    static func clean(_ bytes: [UInt8]) -> [Name] {
        var out: [Name] = []
        for part in bytes.split(separator: slash, omittingEmptySubsequences: true) {
            let name = Name(part)
            if name == dot { continue }
            if name == dotDot {
                if !out.isEmpty { out.removeLast() }
                continue
            }
            out.append(name)
        }
        return out
    }

    /// Splits a symlink target for resolution, keeping `.` and `..` (the resolver handles
    /// them against the symlink's own directory).
    static func components(_ bytes: [UInt8]) -> [Name] {
        bytes.split(separator: slash, omittingEmptySubsequences: true).map { Name($0) }
    }

    static func join(_ components: [Name]) -> [UInt8] {
        var out: [UInt8] = []
        for (index, part) in components.enumerated() {
            if index > 0 { out.append(slash) }
            out.append(contentsOf: part)
        }
        return out
    }

    static func isWhiteout(_ name: Name) -> Bool { name.starts(with: whiteoutPrefix) }

    /// Text for messages: UTF-8 as is, other bytes as `\xNN`.
    static func display(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var out = ""
        var index = 0
        while index < bytes.count {
            // Decode the longest valid UTF-8 prefix at each step; escape one byte otherwise.
            var decoded = false
            for length in stride(from: min(4, bytes.count - index), through: 1, by: -1) {
                if let text = String(validating: bytes[index..<index + length], as: UTF8.self) {
                    out += text
                    index += length
                    decoded = true
                    break
                }
            }
            if !decoded {
                let hex = Array("0123456789abcdef")
                out += "\\x\(hex[Int(bytes[index] >> 4)])\(hex[Int(bytes[index] & 0xf)])"
                index += 1
            }
        }
        return out
    }
}

/// Byte-wise ordering of names, for deterministic output.
func lexicographicallyPrecedes(_ lhs: Name, _ rhs: Name) -> Bool {
    lhs.lexicographicallyPrecedes(rhs)
}
