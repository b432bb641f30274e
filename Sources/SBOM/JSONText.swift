/// A JSON document with its keys in the order given, rendered the same way every time (the
/// SBOM's bytes must not depend on anything but its content).
indirect enum JSONText {
    case object([(String, JSONText)])
    case array([JSONText])
    case string(String)
    case int(Int64)
    case bool(Bool)

    /// Pretty-printed with two spaces per level, ending with a newline.
    func rendered() -> [UInt8] {
        var out = ""
        write(into: &out, level: 0)
        out += "\n"
        return Array(out.utf8)
    }

    private func write(into out: inout String, level: Int) {
        let pad = { (depth: Int) in String(repeating: "  ", count: depth) }
        switch self {
        case let .object(members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{\n"
            for (index, (key, value)) in members.enumerated() {
                out += pad(level + 1) + Self.quote(key) + ": "
                value.write(into: &out, level: level + 1)
                out += index < members.count - 1 ? ",\n" : "\n"
            }
            out += pad(level) + "}"
        case let .array(items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "[\n"
            for (index, item) in items.enumerated() {
                out += pad(level + 1)
                item.write(into: &out, level: level + 1)
                out += index < items.count - 1 ? ",\n" : "\n"
            }
            out += pad(level) + "]"
        case let .string(text): out += Self.quote(text)
        case let .int(number): out += String(number)
        case let .bool(flag): out += flag ? "true" : "false"
        }
    }

    /// JSON string syntax; control characters (C0, DEL, C1) and the line and paragraph
    /// separators as `\u` escapes, so text from an image never reaches a reader raw.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028
                || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
