import CCurl

/// HTTP request methods, mapped onto the libcurl options that produce them.
public enum HTTPMethod: Sendable, Hashable {
    case get, head, post, put, patch, delete
    case custom(String)
}

/// HTTP protocol version preference.
public enum HTTPVersion: Sendable, Hashable {
    /// libcurl's default.
    case automatic
    case http1_1
    /// HTTP/2 over TLS when the server offers it, HTTP/1.1 for plain http.
    case http2TLS
}

/// Owns one libcurl easy handle. Not thread-safe: use one per task. Reusing
/// a handle for sequential requests keeps connections alive; options persist
/// between `perform` calls until changed or `reset()`.
///
/// Redirects are not followed unless enabled, because the registry client
/// must decide itself whether credentials may travel to the next host.
/// No `Accept-Encoding` is sent, so bodies arrive byte-exact for digests.
public final class CurlEasy {
    /// Initialises libcurl exactly once per process; Swift runs a static
    /// `let` initialiser once, thread-safely.
    private static let globalInit: CURLcode = curl_global_init(sifter_curl_global_default())

    private let handle: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var url = ""
    private var method = HTTPMethod.get
    private var body: (size: Int64, source: (UnsafeMutableRawBufferPointer) throws -> Int)?
    private var abortCheck: (() -> Bool)?
    private var performing = false

    /// Creates a handle with safe defaults: no redirects, http/https only,
    /// peer and host verification on, no signals (timeouts are thread-safe).
    public init() throws {
        guard Self.globalInit == CURLE_OK else {
            throw CurlError.initialization(CurlError.strerror(Self.globalInit))
        }
        guard let handle = curl_easy_init() else {
            throw CurlError.initialization("curl_easy_init returned NULL")
        }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(sifter_curl_error_size()))
        errorBuffer.initialize(repeating: 0, count: Int(sifter_curl_error_size()))
        try applyDefaults()
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    /// Restores all options to the defaults of `init()`; keeps open connections.
    public func reset() throws {
        curl_easy_reset(handle)
        curl_slist_free_all(headerList)
        headerList = nil
        url = ""
        method = .get
        body = nil
        abortCheck = nil
        try applyDefaults()
    }

    private func applyDefaults() throws {
        try setLong(CURLOPT_NOSIGNAL, 1, "CURLOPT_NOSIGNAL")
        try setPointer(CURLOPT_ERRORBUFFER, UnsafeRawPointer(errorBuffer), "CURLOPT_ERRORBUFFER")
        try setFollowRedirects(false)
        try setAllowedProtocols(["http", "https"])
        try setVerifyPeer(true)
        try setVerifyHost(true)
        try setProxy(nil)
    }

    // MARK: Request options

    /// The request URL.
    public func setURL(_ url: String) throws {
        self.url = url
        try setString(CURLOPT_URL, url, "CURLOPT_URL")
    }

    /// The request method; applied together with the body at `perform` time.
    public func setMethod(_ method: HTTPMethod) {
        self.method = method
    }

    /// A request body of exactly `size` bytes pulled from `source`, which
    /// fills the buffer it is given and returns the byte count (0 at end).
    /// An error thrown by `source` aborts the transfer and is rethrown by `perform`.
    public func setRequestBody(size: Int64, source: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) {
        body = (size, source)
    }

    /// Removes the request body.
    public func clearRequestBody() {
        body = nil
    }

    /// Replaces all request headers. Names and values must not contain CR/LF.
    public func setHeaders(_ headers: [CurlHeader]) throws {
        // An empty "Expect:" stops curl from pausing uploads for 100-continue,
        // which many registries and proxies handle badly.
        var lines = ["Expect:"]
        for header in headers {
            guard !header.name.isEmpty, !header.name.contains(where: { $0 == ":" || $0.isNewline || $0 == " " })
            else { throw CurlError.invalidHeader(name: header.name, reason: "bad name") }
            guard !header.value.contains(where: \.isNewline) else {
                throw CurlError.invalidHeader(name: header.name, reason: "value contains a line break")
            }
            // "Name;" is curl's syntax for sending a header with an empty value.
            lines.append(header.value.isEmpty ? "\(header.name);" : "\(header.name): \(header.value)")
        }
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines {
            guard let extended = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                throw CurlError.initialization("curl_slist_append failed")
            }
            list = extended
        }
        do {
            try setPointer(CURLOPT_HTTPHEADER, UnsafeRawPointer(list), "CURLOPT_HTTPHEADER")
        } catch {
            curl_slist_free_all(list)
            throw error
        }
        curl_slist_free_all(headerList)
        headerList = list
    }

    /// Whether curl itself follows redirects (default `false`).
    public func setFollowRedirects(_ follow: Bool, maxRedirects: Int = 10) throws {
        try setLong(CURLOPT_FOLLOWLOCATION, follow ? 1 : 0, "CURLOPT_FOLLOWLOCATION")
        try setLong(CURLOPT_MAXREDIRS, maxRedirects, "CURLOPT_MAXREDIRS")
    }

    /// Connect and whole-transfer timeouts in milliseconds; `nil` means none.
    public func setTimeouts(connectMilliseconds: Int?, totalMilliseconds: Int?) throws {
        try setLong(CURLOPT_CONNECTTIMEOUT_MS, connectMilliseconds ?? 0, "CURLOPT_CONNECTTIMEOUT_MS")
        try setLong(CURLOPT_TIMEOUT_MS, totalMilliseconds ?? 0, "CURLOPT_TIMEOUT_MS")
    }

    /// Aborts a transfer slower than `bytesPerSecond` for `seconds`: a stall
    /// detector for big blobs, where a total timeout would be wrong.
    public func setLowSpeedLimit(bytesPerSecond: Int, seconds: Int) throws {
        try setLong(CURLOPT_LOW_SPEED_LIMIT, bytesPerSecond, "CURLOPT_LOW_SPEED_LIMIT")
        try setLong(CURLOPT_LOW_SPEED_TIME, seconds, "CURLOPT_LOW_SPEED_TIME")
    }

    /// A check curl calls about once a second during a transfer, idle or not; returning true
    /// aborts it (`CURLE_ABORTED_BY_CALLBACK`, 42). For stopping a stalled transfer when its
    /// work was cancelled, without waiting for the stall detector. `nil` removes it.
    public func setAbortCheck(_ check: (() -> Bool)?) {
        abortCheck = check
    }

    /// A PEM bundle of trusted CAs; `nil` restores the system default.
    public func setCAFile(_ path: String?) throws {
        try setString(CURLOPT_CAINFO, path, "CURLOPT_CAINFO")
    }

    /// TLS peer certificate verification (default on).
    public func setVerifyPeer(_ verify: Bool) throws {
        try setLong(CURLOPT_SSL_VERIFYPEER, verify ? 1 : 0, "CURLOPT_SSL_VERIFYPEER")
    }

    /// TLS host name verification (default on).
    public func setVerifyHost(_ verify: Bool) throws {
        try setLong(CURLOPT_SSL_VERIFYHOST, verify ? 2 : 0, "CURLOPT_SSL_VERIFYHOST")
    }

    /// HTTP version preference.
    public func setHTTPVersion(_ version: HTTPVersion) throws {
        let value: Int
        switch version {
        case .automatic: value = Int(CURL_HTTP_VERSION_NONE)
        case .http1_1: value = Int(CURL_HTTP_VERSION_1_1)
        case .http2TLS: value = sifter_curl_http_version_2tls()
        }
        try setLong(CURLOPT_HTTP_VERSION, value, "CURLOPT_HTTP_VERSION")
    }

    /// Requests bytes `start...end` (or `start...` when `end` is nil); `nil` clears.
    public func setRange(start: Int64?, end: Int64? = nil) throws {
        let spec = start.map { "\($0)-" + (end.map(String.init) ?? "") }
        try setString(CURLOPT_RANGE, spec, "CURLOPT_RANGE")
    }

    /// The proxy of the next transfers, as curl takes it (`http://host:port`, `https://…`,
    /// `socks5h://…`; a userinfo part authenticates to the proxy); nil for none, the default.
    /// libcurl would otherwise read `http_proxy`, `HTTPS_PROXY`, `NO_PROXY`… from the
    /// environment by itself: both are switched off here, so the caller's choice is the only
    /// one (the registry client's rules are in Distribution's `ProxySettings`). An https URL
    /// goes through an HTTP proxy in a `CONNECT` tunnel.
    public func setProxy(_ proxy: String?) throws {
        try setString(CURLOPT_PROXY, proxy ?? "", "CURLOPT_PROXY")
        try setString(CURLOPT_NOPROXY, "", "CURLOPT_NOPROXY")
    }

    /// Protocols curl may use, e.g. `["http", "https"]` (the default).
    public func setAllowedProtocols(_ protocols: [String]) throws {
        try setString(CURLOPT_PROTOCOLS_STR, protocols.joined(separator: ","), "CURLOPT_PROTOCOLS_STR")
    }

    /// The `User-Agent` header; `nil` sends none.
    public func setUserAgent(_ agent: String?) throws {
        try setString(CURLOPT_USERAGENT, agent, "CURLOPT_USERAGENT")
    }

    // MARK: Transfer

    /// Runs the request. Body bytes stream into `sink` as they arrive; an
    /// error thrown by `sink` (or the body source) aborts the transfer and is
    /// rethrown unchanged. Other failures throw `CurlError.transfer`.
    /// HTTP error statuses are not failures: check `statusCode`.
    public func perform(sink: (UnsafeRawBufferPointer) throws -> Void) throws -> CurlResponse {
        guard !performing else { throw CurlError.reentrantPerform }
        performing = true
        defer { performing = false }
        try applyMethodAndBody()
        errorBuffer[0] = 0

        return try withoutActuallyEscaping(sink) { sink in
            let context = TransferContext(sink: sink, source: body?.source)
            context.abortCheck = abortCheck
            let pointer = Unmanaged.passUnretained(context).toOpaque()
            defer { detachCallbacks() }
            try setCallback(CURLOPT_WRITEDATA, CURLOPT_WRITEFUNCTION, pointer) {
                sifter_curl_setopt_write_cb(handle, CURLOPT_WRITEFUNCTION, curlWriteCallback)
            }
            try setCallback(CURLOPT_HEADERDATA, CURLOPT_HEADERFUNCTION, pointer) {
                sifter_curl_setopt_write_cb(handle, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
            }
            try setCallback(CURLOPT_READDATA, CURLOPT_READFUNCTION, pointer) {
                sifter_curl_setopt_read_cb(handle, CURLOPT_READFUNCTION, curlReadCallback)
            }
            try setCallback(CURLOPT_XFERINFODATA, CURLOPT_XFERINFOFUNCTION, pointer) {
                sifter_curl_setopt_xferinfo_cb(handle, CURLOPT_XFERINFOFUNCTION, curlProgressCallback)
            }
            try setLong(CURLOPT_NOPROGRESS, abortCheck == nil ? 1 : 0, "CURLOPT_NOPROGRESS")
            let code = withExtendedLifetime(context) { curl_easy_perform(handle) }
            if let error = context.error { throw error }
            guard code == CURLE_OK else { throw transferError(code, headersComplete: context.headersComplete) }
            return CurlResponse(
                statusCode: infoLong(CURLINFO_RESPONSE_CODE),
                headers: context.headers.headers,
                effectiveURL: infoString(CURLINFO_EFFECTIVE_URL),
                redirectLocation: infoString(CURLINFO_REDIRECT_URL),
                bodyBytes: context.bodyBytes)
        }
    }

    private func applyMethodAndBody() throws {
        // Each branch sets the option that defines the method last, since
        // libcurl's method options override one another.
        // A body-less POST leaves copied POSTFIELDS behind, which would
        // otherwise replace the read callback's body on a later POST.
        try setPointer(CURLOPT_POSTFIELDS, nil, "CURLOPT_POSTFIELDS")
        try setString(CURLOPT_CUSTOMREQUEST, nil, "CURLOPT_CUSTOMREQUEST")
        try setLong(CURLOPT_NOBODY, 0, "CURLOPT_NOBODY")
        try setLong(CURLOPT_UPLOAD, 0, "CURLOPT_UPLOAD")
        let size = body?.size ?? 0
        switch method {
        case .get where body == nil:
            try setLong(CURLOPT_HTTPGET, 1, "CURLOPT_HTTPGET")
        case .head:
            try setLong(CURLOPT_NOBODY, 1, "CURLOPT_NOBODY")
        case .post:
            try setLong(CURLOPT_POST, 1, "CURLOPT_POST")
            try setOff(CURLOPT_POSTFIELDSIZE_LARGE, size, "CURLOPT_POSTFIELDSIZE_LARGE")
            if body == nil {
                // Without POSTFIELDS curl would call the read callback for a body.
                try setString(CURLOPT_COPYPOSTFIELDS, "", "CURLOPT_COPYPOSTFIELDS")
            }
        case .put:
            try setLong(CURLOPT_UPLOAD, 1, "CURLOPT_UPLOAD")
            try setOff(CURLOPT_INFILESIZE_LARGE, size, "CURLOPT_INFILESIZE_LARGE")
        case .get, .patch, .delete, .custom:
            let verb: String
            switch method {
            case .get: verb = "GET"
            case .patch: verb = "PATCH"
            case .delete: verb = "DELETE"
            case .custom(let name): verb = name
            default: verb = "GET"
            }
            if body != nil {
                try setLong(CURLOPT_UPLOAD, 1, "CURLOPT_UPLOAD")
                try setOff(CURLOPT_INFILESIZE_LARGE, size, "CURLOPT_INFILESIZE_LARGE")
            } else {
                try setLong(CURLOPT_HTTPGET, 1, "CURLOPT_HTTPGET")
            }
            try setString(CURLOPT_CUSTOMREQUEST, verb, "CURLOPT_CUSTOMREQUEST")
        }
    }

    /// CURLE_TOO_LARGE, which libcurl before 8.6 does not define.
    private static let tooLarge: UInt32 = 100
    /// libcurl's own limit for one header line (`CURL_MAX_HTTP_HEADER` in curl.h).
    public static let maxHeaderLine = 100 * 1024

    private func transferError(_ code: CURLcode, headersComplete: Bool) -> CurlError {
        let redacted = URLRedaction.redact(url)
        var detail = String(cString: errorBuffer)
        // libcurl 7.x fails a header line above its limit with "Out of memory", and all the
        // headers above its total limit with a receive error; neither says what happened.
        if code == CURLE_OUT_OF_MEMORY, !headersComplete {
            return .headerTooLarge(url: redacted, limit: Self.maxHeaderLine, code: code.rawValue)
        }
        if code.rawValue == Self.tooLarge || (code == CURLE_RECV_ERROR && detail.hasPrefix("Too large response headers")) {
            let limit = detail.split(separator: ">").last.flatMap { Int(String($0).trimmingSpaces()) }
            return .headerTooLarge(url: redacted, limit: limit ?? Self.maxHeaderLine, code: code.rawValue)
        }
        // curl's own text may quote the URL; never let credentials through.
        if !url.isEmpty, redacted != url { detail = detail.replacingAll(url, with: redacted) }
        return .transfer(code: code.rawValue, message: CurlError.strerror(code), detail: detail, url: redacted)
    }

    private func detachCallbacks() {
        _ = sifter_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, nil)
        _ = sifter_curl_setopt_ptr(handle, CURLOPT_HEADERDATA, nil)
        _ = sifter_curl_setopt_ptr(handle, CURLOPT_READDATA, nil)
        _ = sifter_curl_setopt_ptr(handle, CURLOPT_XFERINFODATA, nil)
        _ = sifter_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 1)
    }

    // MARK: Typed option plumbing

    private func check(_ code: CURLcode, _ name: String) throws {
        guard code == CURLE_OK else {
            throw CurlError.option(name: name, code: code.rawValue, message: CurlError.strerror(code))
        }
    }

    private func setLong(_ option: CURLoption, _ value: Int, _ name: String) throws {
        try check(sifter_curl_setopt_long(handle, option, value), name)
    }

    private func setOff(_ option: CURLoption, _ value: Int64, _ name: String) throws {
        try check(sifter_curl_setopt_off(handle, option, curl_off_t(value)), name)
    }

    private func setPointer(_ option: CURLoption, _ value: UnsafeRawPointer?, _ name: String) throws {
        try check(sifter_curl_setopt_ptr(handle, option, value), name)
    }

    /// curl copies string options, so the temporary C string may die afterwards.
    private func setString(_ option: CURLoption, _ value: String?, _ name: String) throws {
        guard let value else { return try check(sifter_curl_setopt_str(handle, option, nil), name) }
        try value.withCString { try check(sifter_curl_setopt_str(handle, option, $0), name) }
    }

    private func setCallback(
        _ dataOption: CURLoption, _ functionOption: CURLoption, _ pointer: UnsafeMutableRawPointer,
        _ install: () -> CURLcode
    ) throws {
        try setPointer(dataOption, UnsafeRawPointer(pointer), "\(dataOption)")
        try check(install(), "\(functionOption)")
    }

    private func infoLong(_ info: CURLINFO) -> Int {
        var value = 0
        return sifter_curl_getinfo_long(handle, info, &value) == CURLE_OK ? value : 0
    }

    private func infoString(_ info: CURLINFO) -> String? {
        var value: UnsafePointer<CChar>?
        guard sifter_curl_getinfo_str(handle, info, &value) == CURLE_OK, let value else { return nil }
        return String(cString: value)
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
