import CCurl

/// Every failure the CurlHTTP module reports. URLs inside are always
/// redacted with `URLRedaction.redact`, and request headers never appear.
public enum CurlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `curl_easy_perform` failed. `message` is `curl_easy_strerror(code)`,
    /// `detail` the `CURLOPT_ERRORBUFFER` text (may be empty).
    case transfer(code: UInt32, message: String, detail: String, url: String)
    /// Setting an option failed (e.g. unsupported by this libcurl build).
    case option(name: String, code: UInt32, message: String)
    /// `curl_global_init` or `curl_easy_init` failed.
    case initialization(String)
    /// A header name or value was unusable; the value is deliberately not included.
    case invalidHeader(name: String, reason: String)
    /// The upload source returned more bytes than the buffer it was given.
    case uploadSourceOverflow(returned: Int, capacity: Int)
    /// `perform` was called on a handle that is already performing.
    case reentrantPerform
    /// The server's response header was larger than libcurl accepts: one header line above
    /// `CURL_MAX_HTTP_HEADER` (libcurl 7.x reports it as `CURLE_OUT_OF_MEMORY`), all headers
    /// together above its total limit, or `CURLE_TOO_LARGE` (libcurl 8.6 and later).
    case headerTooLarge(url: String, limit: Int, code: UInt32)

    public var description: String {
        switch self {
        case let .transfer(code, message, detail, url):
            let extra = detail.isEmpty || detail == message ? "" : " (\(detail))"
            return "request to \(url) failed: \(message)\(extra) [CURLcode \(code)]"
        case let .option(name, code, message):
            return "curl option \(name) rejected: \(message) [CURLcode \(code)]"
        case let .initialization(message):
            return "curl initialisation failed: \(message)"
        case let .invalidHeader(name, reason):
            return "invalid request header \"\(name)\": \(reason)"
        case let .uploadSourceOverflow(returned, capacity):
            return "upload source returned \(returned) bytes for a \(capacity)-byte buffer"
        case .reentrantPerform:
            return "perform called while the same handle was already performing"
        case let .headerTooLarge(url, limit, code):
            return "response from \(url) has a header larger than curl's limit (\(limit) bytes) [CURLcode \(code)]"
        }
    }

    static func strerror(_ code: CURLcode) -> String {
        curl_easy_strerror(code).map { String(cString: $0) } ?? "unknown error"
    }
}

/// Hides credentials in URLs before they reach logs or error messages.
public enum URLRedaction {
    /// Replacement text for hidden parts.
    public static let mask = "REDACTED"

    /// Query parameters whose values are kept because registry APIs use them
    /// and they carry no secrets. Every other value is masked: signed blob
    /// URLs from S3, GCS, Azure or CDNs use many vendor-specific names
    /// (`X-Amz-Signature`, `sig`, `token`, `verify`...), so a deny-list would
    /// leak whatever it forgot.
    public static let harmlessQueryNames: Set<String> = [
        "n", "last", "digest", "mount", "from", "service", "scope", "ns",
        "x-amz-algorithm", "x-amz-date", "x-amz-expires", "x-amz-signedheaders",
    ]

    /// Masks userinfo (`user:pass@`), non-allow-listed query values and any fragment.
    public static func redact(_ url: String) -> String {
        var rest = Substring(url)
        var fragment: Substring?
        if let hash = rest.firstIndex(of: "#") {
            fragment = rest[rest.index(after: hash)...]
            rest = rest[..<hash]
        }
        var query: Substring?
        if let question = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        var result = redactUserinfo(rest)
        if let query {
            result += "?" + query.split(separator: "&", omittingEmptySubsequences: false)
                .map(redactParameter).joined(separator: "&")
        }
        if let fragment, !fragment.isEmpty {
            result += "#" + mask
        }
        return result
    }

    private static func redactUserinfo(_ url: Substring) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return String(url) }
        let authorityStart = schemeEnd.upperBound
        let authorityEnd = url[authorityStart...].firstIndex(of: "/") ?? url.endIndex
        // The last "@" ends the userinfo: passwords may contain "@" themselves.
        guard let at = url[authorityStart..<authorityEnd].lastIndex(of: "@") else { return String(url) }
        return String(url[..<authorityStart]) + mask + String(url[at...])
    }

    private static func redactParameter(_ parameter: Substring) -> String {
        guard !parameter.isEmpty else { return "" }
        guard let equals = parameter.firstIndex(of: "=") else {
            // A bare parameter can itself be a token.
            return harmlessQueryNames.contains(parameter.lowercased()) ? String(parameter) : mask
        }
        let name = parameter[..<equals]
        let value = parameter[parameter.index(after: equals)...]
        if value.isEmpty || harmlessQueryNames.contains(name.lowercased()) {
            return String(parameter)
        }
        return "\(name)=\(mask)"
    }
}
