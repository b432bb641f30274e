/// How image metadata is written into a definition file so that Apptainer's parser
/// (`pkg/build/types/parser/deffile.go`) reads back exactly the value, and nothing else.
///
/// What that parser does with a line, and so what sifter must never let metadata produce:
/// - `All` starts a new build stage at every line matching `(?mi)^bootstrap:`, anywhere in the file;
/// - `scanDefinitionFile` starts a new section at every line whose first word begins with `%`
///   (leading white space skipped);
/// - `bufio.ScanLines` drops a `\r` just before a `\n`;
/// - a header line loses everything from its first `#`, is trimmed, and continues on the next
///   line when it ends with `\`;
/// - `%labels` lines are trimmed, skipped when empty or starting with `#`, and split at the first
///   space; the value is trimmed again.
/// - the scanner's token limit (`bufio.MaxScanTokenSize`) is 64 KiB: a longer section fails to parse.
enum DefinitionText {
    /// `bufio.MaxScanTokenSize`.
    static let scannerTokenLimit = 64 * 1024

    /// A value inside single quotes, safe for any metadata: `'` becomes `'"'"'`, and every line
    /// break is written as `''<LF>''`, so the line before it ends with a quote (no `\r` can be
    /// dropped) and the line after it starts with one (it cannot open a section or a stage).
    /// `''` inside single quotes closes and reopens them: the value is unchanged.
    static func singleQuoted(_ text: String) -> String {
        "'" + breakLines(ShellQuoting.singleQuoteEscaped(text), token: "''") + "'"
    }

    /// Text already escaped for double quotes (`ShellQuoting.doubleQuoteEscaped`), with every
    /// line break guarded by `""` on both sides, for the same reason as `singleQuoted`.
    static func doubleQuotedBody(_ text: String) -> String {
        breakLines(ShellQuoting.doubleQuoteEscaped(text), token: "\"\"")
    }

    static func breakLines(_ text: String, token: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar == "\n" {
                out += token + "\n" + token
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Metadata shown to people (comments, %help): control, format and separator characters
    /// and white space other than the space are written as `\n`, `\t`, `\u{202E}`…, so the text
    /// is one line, cannot end a comment, and cannot hide what it says (bidi overrides).
    static func visible(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar != " ", needsEscape(scalar) {
                    out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: return true
        default: return scalar.properties.isWhitespace
        }
    }

    /// Go's `unicode.IsSpace`, which `strings.TrimSpace` and `bufio.ScanWords` use: the
    /// White_Space property (both Go sets are subsets of it).
    static func isGoSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace
    }

    /// Why a `%labels` line cannot carry this label, or nil when `KEY VALUE` reads back exactly.
    static func labelProblem(key: String, value: String) -> String? {
        let keyScalars = Array(key.unicodeScalars)
        guard let first = keyScalars.first, let last = keyScalars.last else { return "its key is empty" }
        if keyScalars.contains(" ") || keyScalars.contains("\n") { return "its key holds a space or a line break" }
        if isGoSpace(first) || isGoSpace(last) { return "its key starts or ends with white space" }
        if first == "#" { return "its key starts with #, which makes the line a comment" }
        if first == "%" { return "its key starts with %, which would start a section" }
        let valueScalars = Array(value.unicodeScalars)
        if valueScalars.contains("\n") { return "its value holds a line break" }
        if let first = valueScalars.first, let last = valueScalars.last, isGoSpace(first) || isGoSpace(last) {
            return "its value starts or ends with white space, which Apptainer trims"
        }
        return nil
    }

    /// Why a header line `Key: value` cannot carry this value, or nil.
    static func headerProblem(_ value: String) -> String? {
        let scalars = Array(value.unicodeScalars)
        guard let first = scalars.first, let last = scalars.last else { return "it is empty" }
        if scalars.contains("\n") || scalars.contains("\r") { return "it holds a line break" }
        if scalars.contains("#") { return "it holds #, which starts a comment in the header" }
        if isGoSpace(first) || isGoSpace(last) { return "it starts or ends with white space" }
        if last == "\\" { return "it ends with \\, which continues the line" }
        return nil
    }

    /// A line of %help: visible text, indented; a first character `%` is escaped so the line
    /// cannot start a section (the indentation already keeps `bootstrap:` off column 0).
    static func helpLine(_ text: String) -> String {
        let shown = visible(text)
        guard !shown.isEmpty else { return "" }
        let trimmed = shown.drop { $0 == " " }
        return "    " + (trimmed.first == "%" ? String(shown.prefix(shown.count - trimmed.count)) + "\\" + trimmed : shown)
    }
}
