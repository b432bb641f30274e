/// One challenge of a `WWW-Authenticate` header (RFC 7235 §4.1, RFC 6750 §3), e.g.
/// `Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:o/i:pull"`.
public struct AuthChallenge: Sendable, Hashable {
    /// Lower-cased scheme: `bearer`, `basic`, ...
    public var scheme: String
    /// Parameters with lower-cased names and unquoted values.
    public var parameters: [String: String]

    public init(scheme: String, parameters: [String: String]) {
        self.scheme = scheme.lowercased()
        self.parameters = parameters
    }

    public var realm: String? { parameters["realm"] }
    public var service: String? { parameters["service"] }
    /// The `scope` parameter may hold several scopes separated by spaces.
    public var scopes: [String] { parameters["scope"].map { $0.split(separator: " ").map(String.init) } ?? [] }
    /// `error="insufficient_scope"` etc. (RFC 6750 §3.1).
    public var error: String? { parameters["error"] }

    /// Parses every challenge in one header value. A header may hold several challenges
    /// (`Basic realm="a", Bearer realm="b"`): a new one starts where a token is followed by
    /// white space or the end instead of `=`. Malformed parameters are skipped, not fatal,
    /// because the caller only needs the realm and the scheme.
    public static func parse(_ header: String) -> [AuthChallenge] {
        var scanner = Scanner(Array(header.utf8))
        var result: [AuthChallenge] = []
        while true {
            scanner.skip { $0 == .space || $0 == .tab || $0 == .comma }
            guard let scheme = scanner.token() else {
                if scanner.atEnd { break }
                scanner.advance()  // stray character: skip it and try again
                continue
            }
            var challenge = AuthChallenge(scheme: scheme, parameters: [:])
            // token68 form (`Basic dXNlcg==`) is not used by registries; parameters follow.
            while true {
                scanner.skip { $0 == .space || $0 == .tab || $0 == .comma }
                let mark = scanner.position
                guard let name = scanner.token() else { break }
                scanner.skip { $0 == .space || $0 == .tab }
                guard scanner.peek == .equals else {
                    scanner.position = mark  // a token without "=": the next challenge's scheme
                    break
                }
                scanner.advance()
                scanner.skip { $0 == .space || $0 == .tab }
                let value = scanner.peek == .quote ? scanner.quoted() : (scanner.token() ?? "")
                challenge.parameters[name.lowercased()] = value
            }
            result.append(challenge)
        }
        return result
    }

    /// Parses all `WWW-Authenticate` values of a response.
    public static func parse(headers: [String]) -> [AuthChallenge] {
        headers.flatMap { parse($0) }
    }
}

private extension UInt8 {
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let comma = UInt8(ascii: ",")
    static let equals = UInt8(ascii: "=")
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
}

private struct Scanner {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { position >= bytes.count }
    var peek: UInt8? { atEnd ? nil : bytes[position] }
    mutating func advance() { position += 1 }

    mutating func skip(while predicate: (UInt8) -> Bool) {
        while let byte = peek, predicate(byte) { position += 1 }
    }

    /// RFC 7230 token characters.
    static func isTokenByte(_ b: UInt8) -> Bool {
        if (0x30...0x39).contains(b) || (0x41...0x5a).contains(b) || (0x61...0x7a).contains(b) { return true }
        return Array("!#$%&'*+-.^_`|~/:".utf8).contains(b)  // '/' and ':' appear unquoted in the wild
    }

    mutating func token() -> String? {
        let start = position
        skip(while: Self.isTokenByte)
        return position > start ? String(decoding: bytes[start..<position], as: UTF8.self) : nil
    }

    /// A quoted-string with backslash escapes; an unterminated one runs to the end.
    mutating func quoted() -> String {
        advance()
        var out: [UInt8] = []
        while let byte = peek {
            advance()
            if byte == .quote { break }
            if byte == .backslash, let next = peek {
                out.append(next)
                advance()
                continue
            }
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
