import Foundation

/// URL helpers. Registry URLs are built from validated parts and `Location`/`Link` values are
/// resolved as RFC 3986 references, so no URL type with its own normalisation is needed
/// (Foundation's would re-encode `Location` query strings that must pass through verbatim).
enum URLs {
    /// `scheme://host[:port]`, lower-cased, default ports dropped: the unit Authorization may
    /// never cross.
    static func origin(of url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        let rest = url[schemeEnd.upperBound...]
        var authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host = authority.lowercased()
        if scheme == "https", host.hasSuffix(":443") { host.removeLast(4) }
        if scheme == "http", host.hasSuffix(":80") { host.removeLast(3) }
        guard !host.isEmpty else { return nil }
        return scheme + "://" + host
    }

    /// Whether a redirect or upload `Location` keeps the registry's transport security: https
    /// always does; plain http only when the registry itself is plain http (`--plain-http`).
    /// So a registry reached over https can never send a request to plain http.
    static func keepsTransportSecurity(_ url: String, registryOrigin: String) -> Bool {
        let lowered = url.lowercased()
        if lowered.hasPrefix("https://") { return true }
        return lowered.hasPrefix("http://") && registryOrigin.lowercased().hasPrefix("http://")
    }

    /// The host of a URL's origin, without port and brackets: `http://[::1]:5000` → `::1`.
    static func host(of url: String) -> String? {
        guard let origin = origin(of: url), let schemeEnd = origin.range(of: "://") else { return nil }
        let authority = origin[schemeEnd.upperBound...]
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close])
        }
        return String(authority.split(separator: ":", maxSplits: 1).first ?? "")
    }

    /// `host:port` of a URL's origin as written (default ports dropped).
    static func authority(of url: String) -> String? {
        guard let origin = origin(of: url), let schemeEnd = origin.range(of: "://") else { return nil }
        return String(origin[schemeEnd.upperBound...])
    }

    /// Loopback by its text alone, never by a DNS answer: `localhost`, 127.0.0.0/8, `::1`.
    static func isLoopback(host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127" else { return false }
        return octets.allSatisfy { $0.count <= 3 && UInt8($0) != nil }
    }

    /// Resolves a `Location` or `Link` target against the URL of the request it answered.
    static func resolve(_ reference: String, against base: String) -> String? {
        let reference = reference.trimmingCharacters(in: .whitespaces)
        guard !reference.isEmpty else { return nil }
        if let colon = reference.firstIndex(of: ":"), reference[..<colon].allSatisfy({ $0.isLetter || $0 == "+" || $0 == "-" || $0 == "." }),
            reference[colon...].hasPrefix("://")
        {
            return reference
        }
        guard origin(of: base) != nil, let schemeEnd = base.range(of: "://") else { return nil }
        let scheme = String(base[..<schemeEnd.lowerBound])
        if reference.hasPrefix("//") { return scheme + ":" + reference }
        // Keep the base's authority as written (with its port) rather than the normalised origin.
        let afterScheme = base[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        let prefix = String(base[..<authorityEnd])
        if reference.hasPrefix("/") { return prefix + reference }
        var path = String(afterScheme[authorityEnd...].prefix { $0 != "?" && $0 != "#" })
        if reference.hasPrefix("?") { return prefix + path + reference }
        if let slash = path.lastIndex(of: "/") { path = String(path[...slash]) } else { path = "/" }
        return prefix + path + reference
    }

    /// Adds `name=value` to a URL that may already have a query (upload `Location`s carry
    /// distribution's `_state` and must be kept as they are).
    static func appendingQuery(_ url: String, _ name: String, _ value: String) -> String {
        url + (url.contains("?") ? "&" : "?") + name + "=" + encode(value)
    }

    /// Percent-encodes a query value (RFC 3986 unreserved characters stay).
    static func encode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// `Retry-After`: delta-seconds or an HTTP-date. Nil when absent or unreadable.
    static func retryAfter(_ value: String?, now: Date = Date()) -> Double? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Double(value), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }

    /// The `rel="next"` target of a `Link` header (RFC 8288), unresolved.
    static func nextLink(_ header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = fields.first, target.hasPrefix("<"), target.hasSuffix(">") else { continue }
            let isNext = fields.dropFirst().contains { field in
                let compact = field.replacingOccurrences(of: " ", with: "").lowercased()
                return compact == "rel=\"next\"" || compact == "rel=next"
            }
            if isNext { return String(target.dropFirst().dropLast()) }
        }
        return nil
    }
}
