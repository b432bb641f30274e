/// Text that came from outside (a registry's error message, a SIF's descriptor names and
/// objects, image metadata) made safe to print: a terminal must never receive its control
/// sequences (`ESC]0;…BEL` retitles the window, `ESC[2J` clears it, CR LF forges a line), and
/// bidi overrides must not reorder what is shown. Such characters are written visibly instead:
/// `\x1b`, `\r`, `\n`, `\u009b`, `\u202e`.
public enum TerminalText {
    /// For a one-line message: every control character is escaped, line breaks included.
    public static func line(_ text: String) -> String {
        escaped(text, keepingLineBreaks: false)
    }

    /// For a report of several lines: like `line`, but LF and TAB are kept.
    public static func lines(_ text: String) -> String {
        escaped(text, keepingLineBreaks: true)
    }

    /// Whether `scalar` may reach a terminal as it is.
    public static func isSafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F: false               // C0 controls, DEL
        case 0x80...0x9F: false                     // C1 controls (0x9B is CSI on many terminals)
        case 0x202A...0x202E, 0x2066...0x2069: false  // bidi embeddings, overrides and isolates
        case 0x2028, 0x2029: false                  // line and paragraph separators
        default: true
        }
    }

    static func escaped(_ text: String, keepingLineBreaks: Bool) -> String {
        guard !text.unicodeScalars.allSatisfy({ isSafe($0) || (keepingLineBreaks && ($0 == "\n" || $0 == "\t")) }) else {
            return text
        }
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            if isSafe(scalar) || (keepingLineBreaks && (scalar == "\n" || scalar == "\t")) {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                let hex = String(scalar.value, radix: 16)
                out += scalar.value <= 0x7F ? "\\x" + (hex.count < 2 ? "0" : "") + hex
                    : "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            }
        }
        return out
    }
}
