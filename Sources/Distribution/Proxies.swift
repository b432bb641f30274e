import Foundation

/// Which proxy each request goes through. sifter reads the variables curl and Go programs
/// (oras, skopeo, Apptainer) read and decides itself — libcurl's own reading is switched off
/// (`CurlEasy.setProxy`) — so there is one rule, written down here and tested:
///
/// - an `https://` URL uses `https_proxy`, else `HTTPS_PROXY`; an `http://` URL `http_proxy`,
///   else `HTTP_PROXY` (ignored when `REQUEST_METHOD` is set, as Go does: in a CGI program
///   that variable can come from a request's `Proxy:` header, which is why curl reads only the
///   lower-case name); both fall back to `all_proxy`/`ALL_PROXY`. An empty value means none;
///   a value without a scheme is an `http://` proxy (curl's default).
/// - `no_proxy`, else `NO_PROXY`: comma-separated entries; `*` matches every host; `name` or
///   `.name` matches the name and every name under it; an IPv4 address or block (`10.0.0.0/8`)
///   matches such addresses; an entry with `:port` matches that port only. Hosts are compared
///   by their text, never by a DNS answer.
///
/// An https registry is reached through an HTTP proxy by a `CONNECT` tunnel (curl does that
/// for every https URL), so the proxy sees the host and port and nothing of what TLS carries.
/// A plain-http request goes to the proxy as it is: see `RegistryOptions.plainHTTPProxies`.
public struct ProxySettings: Sendable, Hashable {
    public var http: String?
    public var https: String?
    public var noProxy: [String]

    public init(http: String? = nil, https: String? = nil, noProxy: [String] = []) {
        self.http = http
        self.https = https
        self.noProxy = noProxy
    }

    public init(environment: [String: String]) {
        func first(_ names: [String]) -> String? {
            for name in names {
                if let value = environment[name] { return value.trimmingCharacters(in: .whitespaces) }
            }
            return nil
        }
        let all = first(["all_proxy", "ALL_PROXY"])
        let cgi = environment["REQUEST_METHOD"] != nil
        let http = first(cgi ? ["http_proxy"] : ["http_proxy", "HTTP_PROXY"]) ?? all
        let https = first(["https_proxy", "HTTPS_PROXY"]) ?? all
        self.http = http.flatMap { $0.isEmpty ? nil : $0 }
        self.https = https.flatMap { $0.isEmpty ? nil : $0 }
        noProxy = (first(["no_proxy", "NO_PROXY"]) ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
    }

    /// The proxy for `url` as curl takes it (`scheme://host:port`), nil for a direct connection.
    public func proxy(for url: String) -> String? {
        let lowered = url.lowercased()
        let chosen: String?
        if lowered.hasPrefix("https://") {
            chosen = https
        } else if lowered.hasPrefix("http://") {
            chosen = http
        } else {
            chosen = nil
        }
        guard let chosen, let host = URLs.host(of: url), !bypasses(host: host, port: Self.port(of: url)) else { return nil }
        return chosen.contains("://") ? chosen : "http://" + chosen
    }

    func bypasses(host: String, port: Int?) -> Bool {
        let host = host.lowercased()
        for entry in noProxy {
            if entry == "*" { return true }
            var name = Substring(entry)
            var wantedPort: Int?
            // `host:port`, `[v6]:port`; a bare IPv6 address has colons of its own.
            if name.hasPrefix("["), let close = name.firstIndex(of: "]") {
                let rest = name[name.index(after: close)...]
                wantedPort = rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil
                name = name[name.index(after: name.startIndex)..<close]
            } else if name.filter({ $0 == ":" }).count == 1, let colon = name.firstIndex(of: ":") {
                wantedPort = Int(name[name.index(after: colon)...])
                name = name[..<colon]
            }
            if let wantedPort, wantedPort != port { continue }
            while name.hasPrefix(".") { name = name.dropFirst() }
            guard !name.isEmpty else { continue }
            if host == name || host.hasSuffix("." + name) { return true }
            if Self.inBlock(host: host, block: String(name)) { return true }
        }
        return false
    }

    /// `10.1.2.3` in `10.0.0.0/8` (IPv4 only; an address alone is a /32).
    static func inBlock(host: String, block: String) -> Bool {
        let parts = block.split(separator: "/", maxSplits: 1)
        guard let network = ipv4(String(parts[0])), let address = ipv4(host) else { return false }
        let bits = parts.count == 2 ? Int(parts[1]) ?? -1 : 32
        guard (0...32).contains(bits) else { return false }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
        return address & mask == network & mask
    }

    static func ipv4(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard octet.count <= 3, let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    static func port(of url: String) -> Int? {
        guard let authority = URLs.authority(of: url) else { return nil }
        let afterBracket = authority.lastIndex(of: "]").map { authority[authority.index(after: $0)...] } ?? Substring(authority)
        if let colon = afterBracket.lastIndex(of: ":"), let port = Int(afterBracket[afterBracket.index(after: colon)...]) { return port }
        return url.lowercased().hasPrefix("https://") ? 443 : 80
    }
}
