/// A JSON document with keys in a chosen order and explicit nulls: machine output (`--json`)
/// keeps the documented field order, which Foundation's encoder does not promise.
public indirect enum JSONValue: Equatable, Sendable {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    case int(Int64)
    /// A measurement, written with millisecond precision.
    case seconds(Double)
    case bool(Bool)
    case null

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool { lhs.rendered() == rhs.rendered() }

    /// Renders the document; `indent` > 0 pretty-prints with that many spaces per level.
    public func rendered(indent: Int = 2) -> String {
        rendered(indentString: String(repeating: " ", count: indent))
    }

    /// Renders the document with `indentString` per level (empty: compact).
    public func rendered(indentString: String) -> String {
        var out = ""
        write(into: &out, indent: indentString, level: 0)
        return out
    }

    private func write(into out: inout String, indent: String, level: Int) {
        let newline = indent.isEmpty ? "" : "\n"
        let pad = { (depth: Int) in String(repeating: indent, count: depth) }
        switch self {
        case let .object(members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{" + newline
            for (index, (key, value)) in members.enumerated() {
                out += pad(level + 1) + JSONValue.quote(key) + (indent.isEmpty ? ":" : ": ")
                value.write(into: &out, indent: indent, level: level + 1)
                out += (index < members.count - 1 ? "," : "") + newline
            }
            out += pad(level) + "}"
        case let .array(items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "[" + newline
            for (index, item) in items.enumerated() {
                out += pad(level + 1)
                item.write(into: &out, indent: indent, level: level + 1)
                out += (index < items.count - 1 ? "," : "") + newline
            }
            out += pad(level) + "]"
        case let .string(text): out += JSONValue.quote(text)
        case let .int(number): out += String(number)
        case let .seconds(value):
            let millis = Int64((value * 1000).rounded())
            let fraction = String(abs(millis) % 1000)
            out += (millis < 0 ? "-" : "") + String(abs(millis) / 1000) + "." + String(repeating: "0", count: 3 - fraction.count) + fraction
        case let .bool(flag): out += flag ? "true" : "false"
        case .null: out += "null"
        }
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            // C0 must be escaped in JSON; DEL, C1 controls, bidi controls and line separators
            // may not, but a JSON document printed to a terminal must not carry them raw.
            case _ where !TerminalText.isSafe(scalar):
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
