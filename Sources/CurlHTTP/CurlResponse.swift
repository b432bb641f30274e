/// One response header line, in the order the server sent it.
public struct CurlHeader: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Metadata of a completed transfer. The body went to the caller's sink.
public struct CurlResponse: Sendable, Hashable {
    /// HTTP status of the final response; 0 for protocols without one (file://).
    public var statusCode: Int
    /// Headers of the final response only (interim `100 Continue` blocks are dropped).
    public var headers: [CurlHeader]
    /// The URL curl ended up at.
    public var effectiveURL: String?
    /// Absolute target of a redirect that was not followed, from `Location`.
    public var redirectLocation: String?
    /// Body bytes delivered to the sink.
    public var bodyBytes: Int64

    public init(
        statusCode: Int, headers: [CurlHeader], effectiveURL: String?, redirectLocation: String?, bodyBytes: Int64
    ) {
        self.statusCode = statusCode
        self.headers = headers
        self.effectiveURL = effectiveURL
        self.redirectLocation = redirectLocation
        self.bodyBytes = bodyBytes
    }

    /// The first header with this name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// All values of a header that may repeat (e.g. `WWW-Authenticate`, `Link`).
    public func headerValues(_ name: String) -> [String] {
        let wanted = name.lowercased()
        return headers.filter { $0.name.lowercased() == wanted }.map(\.value)
    }
}

/// Incrementally parses header lines from curl's header callback.
struct HeaderAccumulator {
    private(set) var headers: [CurlHeader] = []

    mutating func consume(_ line: UnsafeRawBufferPointer) {
        // Trim bytes, not Characters: "\r\n" is one grapheme in Swift.
        var end = line.count
        while end > 0, line[end - 1] == UInt8(ascii: "\n") || line[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: line[0..<end]), as: UTF8.self)
        if text.hasPrefix("HTTP/") {
            // A new status line starts a new response (after 100 Continue,
            // a proxy CONNECT, or a redirect): only the last one counts.
            headers.removeAll()
            return
        }
        if text.isEmpty { return }
        if let first = text.first, first == " " || first == "\t", !headers.isEmpty {
            // Obsolete line folding: a continuation of the previous value.
            headers[headers.count - 1].value += " " + text.trimmingSpaces()
            return
        }
        guard let colon = text.firstIndex(of: ":") else { return }
        let name = String(text[..<colon]).trimmingSpaces()
        let value = String(text[text.index(after: colon)...]).trimmingSpaces()
        headers.append(CurlHeader(name: name, value: value))
    }
}

extension String {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let c = slice.first, c == " " || c == "\t" { slice.removeFirst() }
        while let c = slice.last, c == " " || c == "\t" { slice.removeLast() }
        return String(slice)
    }
}
