/// SPDX license expressions (SPDX 2.3 Annex D): identifiers from SPDX's list (optionally with
/// `+`), `WITH` an exception from its list, `AND`, `OR` and parentheses. What a database states
/// is used as is when it is such an expression (in canonical case and spacing); anything else
/// (`GPLv2+`, `MIT License`, `custom`) is kept verbatim as an extracted license text under a
/// `LicenseRef-` of the document, never guessed at.
enum SPDXLicense {
    private static let licenses = Dictionary(SPDXLicenseList.licenses.map { ($0.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
    private static let exceptions = Dictionary(SPDXLicenseList.exceptions.map { ($0.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
    /// Deeper nesting is refused rather than recursed into.
    private static let maxDepth = 32

    /// The canonical form of `text` when it is a valid expression of listed identifiers.
    static func normalized(_ text: String) -> String? {
        guard let tokens = tokenize(text), !tokens.isEmpty else { return nil }
        var parser = Parser(tokens: tokens)
        guard let output = parser.expression(depth: 0), parser.position == tokens.count else { return nil }
        return output
    }

    private static func tokenize(_ text: String) -> [String]? {
        var tokens: [String] = []
        var word = ""
        for character in text {
            switch character {
            case "(", ")", " ", "\t", "\n", "\r":
                if !word.isEmpty { tokens.append(word) }
                word = ""
                if character == "(" || character == ")" { tokens.append(String(character)) }
            case "a"..."z", "A"..."Z", "0"..."9", ".", "-", "+":
                word.append(character)
            default:
                return nil
            }
        }
        if !word.isEmpty { tokens.append(word) }
        return tokens
    }

    private struct Parser {
        let tokens: [String]
        var position = 0

        var next: String? { position < tokens.count ? tokens[position] : nil }

        mutating func take(_ keyword: String) -> Bool {
            guard let next, next.uppercased() == keyword else { return false }
            position += 1
            return true
        }

        // expression := conjunction ("OR" conjunction)*
        mutating func expression(depth: Int) -> String? {
            guard depth < SPDXLicense.maxDepth, var out = conjunction(depth: depth) else { return nil }
            while take("OR") {
                guard let right = conjunction(depth: depth) else { return nil }
                out += " OR " + right
            }
            return out
        }

        // conjunction := term ("AND" term)*
        mutating func conjunction(depth: Int) -> String? {
            guard var out = term(depth: depth) else { return nil }
            while take("AND") {
                guard let right = term(depth: depth) else { return nil }
                out += " AND " + right
            }
            return out
        }

        // term := "(" expression ")" | license ["WITH" exception]
        mutating func term(depth: Int) -> String? {
            guard let token = next else { return nil }
            if token == "(" {
                position += 1
                guard let inner = expression(depth: depth + 1), next == ")" else { return nil }
                position += 1
                return "(" + inner + ")"
            }
            guard var license = SPDXLicense.license(token) else { return nil }
            position += 1
            if take("WITH") {
                guard let token = next, let exception = SPDXLicense.exceptions[token.lowercased()] else { return nil }
                position += 1
                license += " WITH " + exception
            }
            return license
        }
    }

    /// A listed identifier in its canonical case, with its `+` if it has one. `+` is taken only
    /// where the list has the `-or-later` identifier it stands for (`GPL-2.0+`, `LGPL-2.1+`):
    /// validators read `X+` as one symbol and know no other.
    private static func license(_ token: String) -> String? {
        let plus = token.hasSuffix("+")
        let identifier = plus ? String(token.dropLast()) : token
        guard !["AND", "OR", "WITH"].contains(identifier.uppercased()), let canonical = licenses[identifier.lowercased()] else {
            return nil
        }
        guard plus else { return canonical }
        return licenses[(identifier + "-or-later").lowercased()] == nil ? nil : canonical + "+"
    }

    /// A `LicenseRef-` for a license text that is no expression: its characters outside
    /// SPDX's idstring (letters, digits, `.`, `-`) become `-`, and `taken` keeps them unique.
    static func reference(for text: String, taken: inout Set<String>) -> String {
        var name = ""
        for character in text {
            switch character {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "-": name.append(character)
            default: if !name.hasSuffix("-") { name.append("-") }
            }
            if name.count >= 64 { break }
        }
        while name.hasSuffix("-") { name.removeLast() }
        if name.isEmpty { name = "unnamed" }
        var candidate = "LicenseRef-" + name
        var number = 2
        while taken.contains(candidate) {
            candidate = "LicenseRef-\(name)-\(number)"
            number += 1
        }
        taken.insert(candidate)
        return candidate
    }
}
