import Foundation
import Testing
@testable import SifterCore

/// What sifter prints from outside data never carries a terminal control sequence.
struct TerminalTextTests {
    static let hostile = "\u{1B}]0;pwned\u{07}\u{1B}[2J\r\nsifter: forged\u{7F}\u{9B}31m\u{202E}evil\u{2066}\u{2028}"

    @Test func oneLineEscapesEveryControl() {
        let shown = TerminalText.line(Self.hostile)
        #expect(shown == #"\x1b]0;pwned\x07\x1b[2J\r\nsifter: forged\x7f\u009b31m\u202eevil\u2066\u2028"#)
        #expect(shown.unicodeScalars.allSatisfy(TerminalText.isSafe))
        #expect(TerminalText.line("tab\there\u{0}") == #"tab\there\x00"#)
    }

    @Test func severalLinesKeepLineFeedsAndTabs() {
        #expect(TerminalText.lines("a\tb\nc\r\n\u{1B}[31m") == "a\tb\nc\\r\n\\x1b[31m")
    }

    @Test func ordinaryTextIsUnchanged() {
        for text in ["", "plain ascii: sha256:abc (1 MiB) \\ / \"", "ünïcödé — 日本語 ✓ 😀", "C:\\path\\x41"] {
            #expect(TerminalText.line(text) == text)
            #expect(TerminalText.lines(text + "\n") == text + "\n")
        }
    }

    @Test func jsonEscapesWhatATerminalWouldObey() throws {
        let rendered = JSONValue.object([("name", .string(Self.hostile))]).rendered(indent: 0)
        #expect(rendered.unicodeScalars.allSatisfy(TerminalText.isSafe))
        #expect(rendered.contains(#"\u001b]0;pwned\u0007"#))
        #expect(rendered.contains(#"\u007f\u009b31m\u202eevil\u2066\u2028"#))
        // Still JSON, and it decodes to the original text.
        let decoded = try JSONSerialization.jsonObject(with: Data(rendered.utf8)) as? [String: String]
        #expect(decoded?["name"] == Self.hostile)
        // Non-control text stays as it is.
        #expect(JSONValue.string("ünï 日本 😀").rendered() == "\"ünï 日本 😀\"")
    }
}
