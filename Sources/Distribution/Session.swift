import CurlHTTP
import Foundation

/// One connection context (one transport) of a `RegistryClient`. Not thread-safe: each
/// download thread has its own; they share the client's authenticator.
///
/// `send` is the state machine above single exchanges: credentials (to the registry's own
/// origin only), redirects (never from https to http), retries with backoff (cancellable),
/// and the overall deadline of small requests.
final class Session {
    let client: RegistryClient
    let transport: any HTTPTransport
    /// The batch this session works for: cancelling it ends waits and stops new attempts.
    let cancellation: Cancellation?
    private var options: RegistryOptions { client.options }

    init(client: RegistryClient, cancellation: Cancellation? = nil) throws(DistributionError) {
        self.client = client
        self.cancellation = cancellation
        transport = try client.transportFactory(client.options)
    }

    /// Sends `request` with authentication, redirects and retries on connection errors, 408,
    /// 429 and 5xx (honouring `Retry-After`). Returns the final response whatever its status;
    /// the caller judges it. With `resumable`, a connection error is rethrown at once instead
    /// of retried, because the caller resumes from the bytes it already has.
    /// `Authorization` goes only to `request.registryOrigin`: a redirect target or upload
    /// `Location` on another origin (a storage service, a pre-signed URL) gets none.
    func send(_ request: Request, into target: BodyTarget, resumable: Bool = false) throws(DistributionError) -> Response {
        let deadline = request.isSmall(into: target) ? Monotonic.now + options.requestTimeout : nil
        var attempt = 1
        var url = request.url
        var method = request.method
        var body = request.body
        var redirects = 0
        var triedAuthentication = false
        while true {
            if cancellation?.isCancelled == true { throw .cancelled }
            let credentialed = request.authenticate && URLs.origin(of: url) == request.registryOrigin
            var authorization: String?
            if credentialed {
                authorization = try client.authenticator.authorization(for: request, session: self)
            }
            var timeout: Double?
            if let deadline {
                let left = deadline - Monotonic.now
                guard left > 0 else { throw deadlineExceeded(request) }
                timeout = left
            }
            var headers = request.headers
            if let authorization { headers.append(CurlHeader(name: "Authorization", value: authorization)) }
            let proxy = options.proxies.proxy(for: url)
            if let proxy { try checkProxy(proxy, url: url, headers: headers, request: request) }
            let exchange = HTTPExchange(method: method, url: url, headers: headers, body: body,
                                        rangeStart: request.rangeStart, timeout: timeout, cancellation: cancellation, proxy: proxy)
            let answer: HTTPAnswer
            do {
                target.begin()
                answer = try transport.exchange(exchange, sink: target.write)
            } catch let error as CurlError {
                if cancellation?.isCancelled == true {
                    // A resumable download keeps its bytes for the next run.
                    if !resumable { try? target.rollback() }
                    throw .cancelled
                }
                // curl's whole-transfer limit is what is left of the deadline: when it fires,
                // the deadline is what to report, not a timeout to retry.
                if let deadline, Self.isTimeout(error), Monotonic.now + 0.1 >= deadline {
                    try? target.rollback()
                    throw deadlineExceeded(request)
                }
                // A resumable download keeps what arrived; its caller continues with Range.
                if resumable { throw .transport(registry: request.registry, attempts: attempt, underlying: error) }
                try? target.rollback()
                guard attempt < options.maxAttempts, Self.isRetryable(error) else {
                    throw .transport(registry: request.registry, attempts: attempt, underlying: error)
                }
                let delay = bounded(backoff(attempt), by: deadline)
                log("\(request.operation): \(error); retry \(attempt + 1)/\(options.maxAttempts) in \(Self.seconds(delay))")
                try pause(delay)
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
            let status = answer.status
            log("\(Self.verb(method)) \(URLRedaction.redact(url)) -> \(status)" + (answer.bodyBytes > 0 ? " (\(answer.bodyBytes) bytes)" : "")
                + (proxy.map { " via proxy \(URLRedaction.redact($0))" } ?? ""))
            let result = Response(status: status, headers: answer.headers, url: url, body: target.buffered)
            client.noteWarnings(result.headerValues("Warning"))

            if [301, 302, 303, 307, 308].contains(status), request.followRedirects,
                let location = result.header("Location"), let next = URLs.resolve(location, against: url)
            {
                try rollback(target, request)
                redirects += 1
                guard redirects <= 10 else {
                    throw .invalidResponse(registry: request.registry, repository: request.repository, reason: "\(request.operation): more than 10 redirects")
                }
                guard URLs.keepsTransportSecurity(next, registryOrigin: request.registryOrigin) else {
                    throw .invalidResponse(registry: request.registry, repository: request.repository,
                                           reason: "\(request.operation): refusing redirect to \(URLRedaction.redact(next)) (not https)")
                }
                if URLs.origin(of: next) != request.registryOrigin {
                    log("redirect to \(URLRedaction.redact(next)) (other host: no Authorization sent)")
                }
                if status == 303 { (method, body) = (.get, nil) }
                url = next
                continue
            }
            if status == 401, request.authenticate {
                guard credentialed else {
                    // Credentials are the registry's: another host demanding them gets none.
                    try rollback(target, request)
                    throw .authentication(
                        registry: request.registry,
                        reason: "\(request.operation): \(URLs.origin(of: url) ?? "another host"), where the registry sent this request, "
                            + "asks for credentials; sifter sends credentials to the registry's own address (\(request.registryOrigin)) only")
                }
                if !triedAuthentication {
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
            }
            if Self.retryableStatuses.contains(status) {
                // An upload body is not sent again blindly: its caller asks where it stands.
                guard request.replayable else { return result }
                guard attempt < options.maxAttempts else {
                    throw .retriesExhausted(registry: request.registry, repository: request.repository, operation: request.operation,
                                            attempts: attempt, last: .status(status, errors: client.scrubbed(result.errors)))
                }
                try rollback(target, request)
                var delay = backoff(attempt)
                if let after = URLs.retryAfter(result.header("Retry-After")) { delay = min(max(after, delay), options.maxRetryAfter) }
                delay = bounded(delay, by: deadline)
                log("\(request.operation): HTTP \(status); retry \(attempt + 1)/\(options.maxAttempts) in \(Self.seconds(delay))")
                try pause(delay)
                attempt += 1
                // Back to the registry URL: a redirect target (signed URL) may have expired.
                (url, method, body) = (request.url, request.method, request.body)
                continue
            }
            return result
        }
    }

    /// A plain-http request goes to its proxy as it is: one that carries credentials (an
    /// `Authorization` header, or a secret in its body) is refused before connecting unless
    /// the proxy is listed in `plainHTTPProxies`. Over https the proxy only relays a TLS tunnel.
    private func checkProxy(_ proxy: String, url: String, headers: [CurlHeader], request: Request) throws(DistributionError) {
        guard url.lowercased().hasPrefix("http://"),
            request.carriesCredentials || headers.contains(where: { $0.name.lowercased() == "authorization" })
        else { return }
        let host = URLs.host(of: proxy) ?? ""
        let authority = URLs.authority(of: proxy) ?? host
        if options.plainHTTPProxies.contains(authority) || options.plainHTTPProxies.contains(host) { return }
        throw .authentication(
            registry: request.registry,
            reason: "\(request.operation): refusing to send credentials over plain http through the proxy \(URLRedaction.redact(proxy)), "
                + "which would read them (use https, exempt \(URLs.host(of: url) ?? "the registry") with NO_PROXY, "
                + "or, if the proxy is trusted, allow it with SIFTER_PLAIN_HTTP_PROXIES=\(authority))")
    }

    /// Waits out a retry delay; a cancelled batch stops waiting at once.
    func pause(_ seconds: Double) throws(DistributionError) {
        if client.pause(seconds, cancellation) { throw .cancelled }
    }

    private func deadlineExceeded(_ request: Request) -> DistributionError {
        .deadlineExceeded(registry: request.registry, repository: request.repository, operation: request.operation,
                          seconds: options.requestTimeout)
    }

    /// A retry delay never outlasts the deadline (the next attempt then reports it).
    private func bounded(_ delay: Double, by deadline: Double?) -> Double {
        guard let deadline else { return delay }
        return max(0, min(delay, deadline - Monotonic.now))
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

    func log(_ line: String) {
        options.logger?(client.scrub(line))
    }

    func backoff(_ attempt: Int) -> Double {
        let base = options.initialRetryDelay * pow(2, Double(attempt - 1))
        return min(base, options.maxRetryDelay) * Double.random(in: 0.8...1.2)
    }

    /// Statuses worth another try: the request timed out, the registry asks to slow down, or
    /// it (or a gateway before it) failed.
    static let retryableStatuses: Set<Int> = [408, 429, 500, 502, 503, 504]

    /// Connection-level failures worth another try: refused, reset, timeouts, TLS hiccups,
    /// partial transfers. URL and option errors, and oversized headers, are not.
    static func isRetryable(_ error: CurlError) -> Bool {
        guard case let .transfer(code, _, _, _) = error else { return false }
        // CURLE_COULDNT_RESOLVE_HOST 6, COULDNT_CONNECT 7, PARTIAL_FILE 18, OPERATION_TIMEDOUT 28,
        // SSL_CONNECT_ERROR 35, GOT_NOTHING 52, SEND_ERROR 55, RECV_ERROR 56, HTTP2 16, HTTP2_STREAM 92,
        // SEND_FAIL_REWIND 65: a connection reset while an upload body was being sent makes curl
        // want to resend on a new connection, which it cannot do without a seek callback; every
        // attempt of ours re-opens the body, so it is a retryable connection failure too.
        return [6, 7, 16, 18, 28, 35, 52, 55, 56, 65, 92].contains(code)
    }

    /// CURLE_OPERATION_TIMEDOUT: a whole-transfer limit or the stall detector fired.
    static func isTimeout(_ error: CurlError) -> Bool {
        guard case let .transfer(code, _, _, _) = error else { return false }
        return code == 28
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
