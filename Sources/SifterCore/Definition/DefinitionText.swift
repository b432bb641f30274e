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
///
/// And before parsing, `apptainer build` substitutes build variables (`internal/pkg/build/args/
/// reader.go`, `NewReader`): every match of `{{\s*\w+\s*}}` outside comment lines is replaced by
/// a `--build-arg` or `%arguments` value, and an undefined one fails the build. So no text taken
/// from the image may contain such a match, nor begin one that the next line could complete.
enum DefinitionText {
    /// `bufio.MaxScanTokenSize`.
    static let scannerTokenLimit = 64 * 1024

    /// A value inside single quotes, safe for any metadata: `'` becomes `'"'"'`, and every line
    /// break is written as `''<LF>''`, so the line before it ends with a quote (no `\r` can be
    /// dropped) and the line after it starts with one (it cannot open a section or a stage).
    /// `''` inside single quotes closes and reopens them: the value is unchanged.
    /// A `{{` that would read as a build variable gets the same `''` between its braces.
    static func singleQuoted(_ text: String) -> String {
        "'" + breakBuildVariables(breakLines(ShellQuoting.singleQuoteEscaped(text), token: "''"), token: "''") + "'"
    }

    /// Text already escaped for double quotes (`ShellQuoting.doubleQuoteEscaped`), with every
    /// line break guarded by `""` on both sides, for the same reason as `singleQuoted`, and `""`
    /// between the braces of a `{{` that would read as a build variable.
    static func doubleQuotedBody(_ text: String) -> String {
        breakBuildVariables(breakLines(ShellQuoting.doubleQuoteEscaped(text), token: "\"\""), token: "\"\"")
    }

    /// `text` with the second brace of every build variable (or start of one) written as
    /// `replacement`: an escape that means `{` to whoever reads the text (JSON, people).
    static func breakBuildVariables(_ text: String, replacingWith replacement: String) -> String {
        let scalars = Array(text.unicodeScalars)
        let seconds = Set(buildVariableStarts(scalars).map { $0 + 1 })
        guard !seconds.isEmpty else { return text }
        var out = String.UnicodeScalarView()
        for (offset, scalar) in scalars.enumerated() {
            if seconds.contains(offset) {
                out.append(contentsOf: replacement.unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Go's RE2 `\s` and `\w` (ASCII only), as `NewReader`'s pattern uses them.
    static func isRE2Space(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar == "\u{0C}"
    }

    static func isRE2Word(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (scalar == "_" || scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))
    }

    /// Offsets (in scalars) of every `{{` that starts a match of `{{\s*\w+\s*}}`, or a start of
    /// one that runs to the end of the text (where following text could complete it). Matches
    /// cannot overlap, so putting anything that is neither a brace, a space nor a word
    /// character after the first brace of each leaves no match and creates none.
    static func buildVariableStarts(_ scalars: [Unicode.Scalar]) -> [Int] {
        var starts: [Int] = []
        var index = 0
        while index + 1 < scalars.count {
            guard scalars[index] == "{", scalars[index + 1] == "{" else {
                index += 1
                continue
            }
            // 0: spaces before the name, 1: the name, 2: spaces after it, 3: one `}` seen.
            var state = 0
            var cursor = index + 2
            var reachesEnd = true
            var matched = false
            scan: while cursor < scalars.count {
                let scalar = scalars[cursor]
                switch state {
                case 0 where isRE2Space(scalar): break
                case 0 where isRE2Word(scalar), 1 where isRE2Word(scalar): state = 1
                case 1 where isRE2Space(scalar), 2 where isRE2Space(scalar): state = 2
                case 1 where scalar == "}", 2 where scalar == "}": state = 3
                case 3 where scalar == "}":
                    matched = true
                    break scan
                default:
                    reachesEnd = false
                    break scan
                }
                cursor += 1
            }
            if matched || reachesEnd {
                starts.append(index)
                index = matched ? cursor + 1 : scalars.count
            } else {
                index += 1
            }
        }
        return starts
    }

    /// Whether `text` holds a build variable Apptainer would substitute, or the start of one.
    static func hasBuildVariable(_ text: String) -> Bool {
        !buildVariableStarts(Array(text.unicodeScalars)).isEmpty
    }

    /// `text` with `token` after the first brace of every build variable (or start of one).
    static func breakBuildVariables(_ text: String, token: String) -> String {
        let scalars = Array(text.unicodeScalars)
        let starts = buildVariableStarts(scalars)
        guard !starts.isEmpty else { return text }
        let marked = Set(starts)
        var out = String.UnicodeScalarView()
        for (offset, scalar) in scalars.enumerated() {
            out.append(scalar)
            if marked.contains(offset) { out.append(contentsOf: token.unicodeScalars) }
        }
        return String(out)
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
    /// is one line, cannot end a comment, and cannot hide what it says (bidi overrides). The
    /// second brace of a `{{` that would read as a build variable is written `\u{7B}`.
    static func visible(_ text: String) -> String {
        breakBuildVariables(escapedControls(text), replacingWith: "\\u{7B}")
    }

    private static func escapedControls(_ text: String) -> String {
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
        if hasBuildVariable(key + " " + value) { return buildVariableProblem }
        return nil
    }

    static let buildVariableProblem = "it holds {{…}}, which apptainer build reads as a build variable"

    /// Why a header line `Key: value` cannot carry this value, or nil.
    static func headerProblem(_ value: String) -> String? {
        let scalars = Array(value.unicodeScalars)
        guard let first = scalars.first, let last = scalars.last else { return "it is empty" }
        if scalars.contains("\n") || scalars.contains("\r") { return "it holds a line break" }
        if scalars.contains("#") { return "it holds #, which starts a comment in the header" }
        if isGoSpace(first) || isGoSpace(last) { return "it starts or ends with white space" }
        if last == "\\" { return "it ends with \\, which continues the line" }
        if hasBuildVariable(value) { return buildVariableProblem }
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
