import CurlHTTP
import Foundation
@testable import Distribution
import Synchronization

/// A scripted HTTP world for `Session`'s state machine: every exchange any session makes is
/// recorded and answered by `respond`, which sees the exchange exactly as it would have gone on
/// the wire (URL, headers with `Authorization`, timeout). Real-server tests stay in
/// `PullIntegrationTests`/`PushIntegrationTests`; these cover the rules one by one.
final class ScriptedWeb: Sendable {
    struct Sent: Sendable {
        var method: String
        var url: String
        var headers: [CurlHeader]
        var timeout: Double?
        var rangeStart: Int64?
        /// Bytes the request body would carry (the scripted transport reads none).
        var bodyLength: Int64 = 0
        /// The proxy the session chose; nil for a direct connection.
        var proxy: String?
        var authorization: String? { headers.first { $0.name.lowercased() == "authorization" }?.value }
        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
        var host: String { URLs.origin(of: url) ?? url }
    }

    struct Answer: Sendable {
        var status: Int
        var headers: [CurlHeader] = []
        var body: [UInt8] = []
        /// Thrown instead of answering (a connection failure).
        var failure: CurlError?

        init(_ status: Int, _ headers: [(String, String)] = [], body: [UInt8] = []) {
            self.status = status
            self.headers = headers.map { CurlHeader(name: $0.0, value: $0.1) }
            self.body = body
        }

        init(failure: CurlError) {
            status = 0
            self.failure = failure
        }

        static func json(_ status: Int, _ text: String, _ headers: [(String, String)] = []) -> Answer {
            Answer(status, headers + [("Content-Type", "application/json")], body: Array(text.utf8))
        }
    }

    private let respond: @Sendable (Sent) -> Answer
    private let log = Mutex<[Sent]>([])
    private let waits = Mutex<[Double]>([])

    init(_ respond: @escaping @Sendable (Sent) -> Answer) {
        self.respond = respond
    }

    var sent: [Sent] { log.withLock { $0 } }
    /// Retry delays the client asked to wait (the scripted pause returns at once).
    var pauses: [Double] { waits.withLock { $0 } }

    func sent(to origin: String) -> [Sent] { sent.filter { $0.host == origin } }

    /// A client whose sessions all talk to this web. `realPause` waits for real (cancellably).
    func client(_ options: RegistryOptions, realPause: Bool = false) throws -> RegistryClient {
        try RegistryClient(
            options: options, transport: { _ throws(DistributionError) in ScriptedTransport(web: self) },
            pause: { [self] seconds, cancellation in
                if realPause { return Cancellation.sleep(seconds, unless: cancellation) }
                waits.withLock { $0.append(seconds) }
                return cancellation?.isCancelled ?? false
            })
    }

    fileprivate func exchange(_ exchange: HTTPExchange, sink: (UnsafeRawBufferPointer) throws -> Void) throws -> HTTPAnswer {
        var length: Int64 = 0
        switch exchange.body {
        case let .bytes(bytes)?: length = Int64(bytes.count)
        case let .file(_, _, fileLength)?: length = fileLength
        case nil: break
        }
        let sent = Sent(method: Session.verb(exchange.method), url: exchange.url, headers: exchange.headers,
                        timeout: exchange.timeout, rangeStart: exchange.rangeStart, bodyLength: length, proxy: exchange.proxy)
        log.withLock { $0.append(sent) }
        let answer = respond(sent)
        if let failure = answer.failure { throw failure }
        if sent.method != "HEAD", !answer.body.isEmpty {
            try answer.body.withUnsafeBytes { try sink($0) }
        }
        return HTTPAnswer(status: answer.status, headers: answer.headers, bodyBytes: Int64(answer.body.count))
    }
}

private final class ScriptedTransport: HTTPTransport {
    let web: ScriptedWeb
    init(web: ScriptedWeb) { self.web = web }

    func exchange(_ exchange: HTTPExchange, sink: (UnsafeRawBufferPointer) throws -> Void) throws -> HTTPAnswer {
        try web.exchange(exchange, sink: sink)
    }
}

/// Options for scripted tests: no environment, explicit credentials, quick retries.
func scriptedOptions(plainHTTP: Bool = false, credential: Credential? = Credential(username: "robot", password: "hunter2-secret"))
    -> RegistryOptions
{
    var options = RegistryOptions(credentialSources: credential.map { [.explicit($0, registries: nil)] } ?? [],
                                  environment: [:], plainHTTP: plainHTTP)
    options.maxAttempts = 3
    return options
}

/// `Basic` of the scripted credential.
let scriptedBasic = "Basic " + Data("robot:hunter2-secret".utf8).base64EncodedString()

/// A connection failure as curl reports it.
func curlFailure(_ code: UInt32, _ message: String) -> CurlError {
    .transfer(code: code, message: message, detail: "", url: "scripted")
}
