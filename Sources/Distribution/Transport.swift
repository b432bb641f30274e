import CurlHTTP
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An access scope for the token server: `repository:<name>:<actions>`.
struct Scope: Hashable, Sendable {
    var repository: String
    var actions: [String]

    var text: String { "repository:\(repository):\(actions.joined(separator: ","))" }

    /// Parses a challenge's scope; the name may contain `host:port`, so split at the last colon.
    init?(parsing text: String) {
        guard text.hasPrefix("repository:"), let lastColon = text.lastIndex(of: ":") else { return nil }
        let name = text[text.index(text.startIndex, offsetBy: 11)..<lastColon]
        guard !name.isEmpty else { return nil }
        repository = String(name)
        actions = text[text.index(after: lastColon)...].split(separator: ",").map(String.init)
    }

    init(repository: String, actions: [String]) {
        self.repository = repository
        self.actions = actions
    }

    /// Merges scopes per repository (union of actions, sorted), so that one token covers a
    /// request's needs and the challenge's, and equal sets give equal cache keys.
    static func merge(_ scopes: [Scope]) -> [Scope] {
        var byRepository: [String: Set<String>] = [:]
        for scope in scopes { byRepository[scope.repository, default: []].formUnion(scope.actions) }
        return byRepository.keys.sorted().map { Scope(repository: $0, actions: byRepository[$0]!.sorted()) }
    }
}

/// A request that can be sent again: retries and authentication replay it.
struct Request {
    enum Body {
        case bytes([UInt8])
        /// `length` bytes of a file from `offset`, re-read on every attempt.
        case file(path: String, offset: Int64, length: Int64)
    }

    var method: HTTPMethod
    var url: String
    var headers: [CurlHeader] = []
    var body: Body?
    /// What the request needs from a token; empty for requests that need no repository access.
    var scopes: [Scope] = []
    /// For messages: "GET manifest latest", "PUT blob upload".
    var operation: String
    var registry: String
    var repository: String?
    /// `Range: bytes=<start>-`.
    var rangeStart: Int64?
    var followRedirects = true
    /// Whether this request may carry credentials at all (false for token-server calls made
    /// by the authenticator itself, which sets its own header).
    var authenticate = true
}

struct Response {
    var status: Int
    var headers: [CurlHeader]
    /// URL that produced this response (after redirects).
    var url: String
    /// Buffered body (only for `BufferTarget`).
    var body: [UInt8]

    func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    func headerValues(_ name: String) -> [String] {
        let wanted = name.lowercased()
        return headers.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    var errors: [RegistryErrorEntry] { RegistryErrorEntry.parse(body) }
}

/// Where a response body goes. The status is only known once curl returns, so every target
/// can undo what one exchange wrote (error pages, redirect bodies).
protocol BodyTarget: AnyObject {
    func begin()
    func write(_ bytes: UnsafeRawBufferPointer) throws
    func rollback() throws
    var buffered: [UInt8] { get }
}

/// Keeps the body in memory up to `limit` bytes; more aborts the transfer.
final class BufferTarget: BodyTarget {
    struct TooLarge: Error {}
    let limit: Int
    private(set) var buffered: [UInt8] = []

    init(limit: Int) { self.limit = limit }

    func begin() { buffered.removeAll(keepingCapacity: true) }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard buffered.count + bytes.count <= limit else { throw TooLarge() }
        buffered.append(contentsOf: bytes)
    }

    func rollback() { buffered.removeAll() }
}

/// One connection context (a libcurl easy handle) of a `RegistryClient`. Not thread-safe:
/// each download thread has its own; they share the client's authenticator.
final class Session {
    let client: RegistryClient
    let easy: CurlEasy
    private var options: RegistryOptions { client.options }

    init(client: RegistryClient) throws(DistributionError) {
        self.client = client
        do {
            easy = try CurlEasy()
            try easy.setTimeouts(connectMilliseconds: client.options.connectTimeout * 1000, totalMilliseconds: nil)
            try easy.setLowSpeedLimit(bytesPerSecond: 1024, seconds: client.options.stallTimeout)
            try easy.setUserAgent(client.options.userAgent)
            if client.options.insecure {
                try easy.setVerifyPeer(false)
                try easy.setVerifyHost(false)
            }
            if let caFile = client.options.caFile { try easy.setCAFile(caFile) }
        } catch let error as CurlError {
            throw .transport(registry: "local", attempts: 0, underlying: error)
        } catch {
            throw .invalidOption("\(error)")
        }
    }

    /// Sends `request` with authentication, redirects (Authorization never crosses to another
    /// origin) and retries on connection errors, 408, 429 and 5xx (honouring `Retry-After`).
    /// Returns the final response whatever its status; the caller judges it.
    /// With `resumable`, a connection error is rethrown at once instead of retried, because
    /// the caller resumes from the bytes it already has rather than starting over.
    func send(_ request: Request, into target: BodyTarget, resumable: Bool = false) throws(DistributionError) -> Response {
        let requestOrigin = URLs.origin(of: request.url)
        var attempt = 1
        var url = request.url
        var method = request.method
        var body = request.body
        var redirects = 0
        var triedAuthentication = false
        while true {
            let sameOrigin = URLs.origin(of: url) == requestOrigin
            var authorization: String?
            if request.authenticate, sameOrigin {
                authorization = try client.authenticator.authorization(for: request, session: self)
            }
            let response: CurlResponse
            do {
                target.begin()
                try configure(method: method, url: url, request: request, body: body, authorization: authorization)
                response = try easy.perform(sink: target.write)
            } catch let error as CurlError {
                // A resumable download keeps what arrived; its caller continues with Range.
                if resumable { throw .transport(registry: request.registry, attempts: attempt, underlying: error) }
                try? target.rollback()
                guard attempt < options.maxAttempts, Self.isRetryable(error) else {
                    throw .transport(registry: request.registry, attempts: attempt, underlying: error)
                }
                let delay = backoff(attempt)
                log("\(request.operation): \(error); retry \(attempt + 1)/\(options.maxAttempts) in \(Self.seconds(delay))")
                Thread.sleep(forTimeInterval: delay)
                attempt += 1
                (url, method, body) = (request.url, request.method, request.body)
                continue
            } catch is BufferTarget.TooLarge {
                throw .invalidResponse(registry: request.registry, repository: request.repository,
                                       reason: "\(request.operation): response larger than \((target as? BufferTarget)?.limit ?? 0) bytes")
            } catch let error as DistributionError {
                throw error
            } catch {
                throw .invalidResponse(registry: request.registry, repository: request.repository, reason: client.scrub("\(error)"))
            }
            let status = response.statusCode
            log("\(Self.verb(method)) \(URLRedaction.redact(url)) -> \(status)" + (response.bodyBytes > 0 ? " (\(response.bodyBytes) bytes)" : ""))
            let result = Response(status: status, headers: response.headers, url: url, body: target.buffered)
            client.noteWarnings(result.headerValues("Warning"))

            if [301, 302, 303, 307, 308].contains(status), request.followRedirects,
                let location = response.header("Location"), let next = URLs.resolve(location, against: url)
            {
                try rollback(target, request)
                redirects += 1
                guard redirects <= 10 else {
                    throw .invalidResponse(registry: request.registry, repository: request.repository, reason: "\(request.operation): more than 10 redirects")
                }
                guard next.hasPrefix("https://") || (next.hasPrefix("http://") && (options.plainHTTP || url.hasPrefix("http://"))) else {
                    throw .invalidResponse(registry: request.registry, repository: request.repository,
                                           reason: "\(request.operation): refusing redirect to \(URLRedaction.redact(next))")
                }
                if URLs.origin(of: next) != requestOrigin {
                    log("redirect to \(URLRedaction.redact(next)) (other host: no Authorization sent)")
                }
                if status == 303 { (method, body) = (.get, nil) }
                url = next
                continue
            }
            if status == 401, sameOrigin, request.authenticate, !triedAuthentication {
                triedAuthentication = true
                let challenges = AuthChallenge.parse(headers: result.headerValues("WWW-Authenticate"))
                if try client.authenticator.handle(challenges, for: request, sent: authorization, session: self) {
                    try rollback(target, request)
                    continue
                }
                // Nothing better to send: the caller reports this 401 with its error body.
                try rollback(target, request)
                return result
            }
            if [408, 429, 500, 502, 503, 504].contains(status) {
                guard attempt < options.maxAttempts else {
                    throw .retriesExhausted(registry: request.registry, repository: request.repository,
                                            operation: request.operation, attempts: attempt, lastStatus: status)
                }
                try rollback(target, request)
                var delay = backoff(attempt)
                if let after = URLs.retryAfter(response.header("Retry-After")) { delay = min(max(after, delay), options.maxRetryAfter) }
                log("\(request.operation): HTTP \(status); retry \(attempt + 1)/\(options.maxAttempts) in \(Self.seconds(delay))")
                Thread.sleep(forTimeInterval: delay)
                attempt += 1
                // Back to the registry URL: a redirect target (signed URL) may have expired.
                (url, method, body) = (request.url, request.method, request.body)
                continue
            }
            return result
        }
    }

    private func rollback(_ target: BodyTarget, _ request: Request) throws(DistributionError) {
        do {
            try target.rollback()
        } catch let error as DistributionError {
            throw error
        } catch {
            throw .invalidResponse(registry: request.registry, repository: request.repository, reason: "\(error)")
        }
    }

    private func configure(method: HTTPMethod, url: String, request: Request, body: Request.Body?, authorization: String?) throws {
        try easy.setURL(url)
        easy.setMethod(method)
        var headers = request.headers
        if let authorization { headers.append(CurlHeader(name: "Authorization", value: authorization)) }
        try easy.setHeaders(headers)
        try easy.setRange(start: request.rangeStart)
        switch body {
        case nil:
            easy.clearRequestBody()
        case let .bytes(bytes):
            var offset = 0
            easy.setRequestBody(size: Int64(bytes.count)) { buffer in
                let n = min(buffer.count, bytes.count - offset)
                if n > 0 {
                    bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
                }
                offset += n
                return n
            }
        case let .file(path, start, length):
            let reader = try FileSlice(path: path, offset: start, length: length)
            easy.setRequestBody(size: length) { buffer in try reader.read(into: buffer) }
        }
    }

    func log(_ line: String) {
        options.logger?(client.scrub(line))
    }

    private func backoff(_ attempt: Int) -> Double {
        let base = options.initialRetryDelay * pow(2, Double(attempt - 1))
        return min(base, options.maxRetryDelay) * Double.random(in: 0.8...1.2)
    }

    /// Connection-level failures worth another try: refused, reset, timeouts, TLS hiccups,
    /// partial transfers. URL and option errors are not.
    static func isRetryable(_ error: CurlError) -> Bool {
        guard case let .transfer(code, _, _, _) = error else { return false }
        // CURLE_COULDNT_RESOLVE_HOST 6, COULDNT_CONNECT 7, PARTIAL_FILE 18, OPERATION_TIMEDOUT 28,
        // SSL_CONNECT_ERROR 35, GOT_NOTHING 52, SEND_ERROR 55, RECV_ERROR 56, HTTP2 16, HTTP2_STREAM 92,
        // SEND_FAIL_REWIND 65: a connection reset while an upload body was being sent makes curl
        // want to resend on a new connection, which it cannot do without a seek callback; every
        // attempt of ours re-opens the body, so it is a retryable connection failure too.
        return [6, 7, 16, 18, 28, 35, 52, 55, 56, 65, 92].contains(code)
    }

    static func verb(_ method: HTTPMethod) -> String {
        switch method {
        case .get: "GET"
        case .head: "HEAD"
        case .post: "POST"
        case .put: "PUT"
        case .patch: "PATCH"
        case .delete: "DELETE"
        case let .custom(name): name
        }
    }

    static func seconds(_ value: Double) -> String { String(format: "%.2f s", value) }
}

/// Reads a byte range of a file for an upload; reopened per attempt so retries start clean.
final class FileSlice {
    private let handle: FileHandle
    private var remaining: Int64

    init(path: String, offset: Int64, length: Int64) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw DistributionError.io(operation: "open", path: path, errno: errno)
        }
        try handle.seek(toOffset: UInt64(offset))
        self.handle = handle
        remaining = length
    }

    deinit { try? handle.close() }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let want = Int(min(Int64(buffer.count), remaining))
        guard want > 0 else { return 0 }
        let n = Glibc.read(handle.fileDescriptor, buffer.baseAddress, want)
        guard n > 0 else { throw DistributionError.io(operation: "read", path: "upload source", errno: n == 0 ? EIO : errno) }
        remaining -= Int64(n)
        return n
    }
}
