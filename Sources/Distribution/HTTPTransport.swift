import CurlHTTP
import Foundation

/// One HTTP exchange exactly as it goes on the wire: no redirect followed, no retry, no
/// credential added. Everything above it (authentication, redirects, retries, deadlines) is
/// `Session`'s, so that state machine can run against a scripted transport in tests.
struct HTTPExchange {
    var method: HTTPMethod
    var url: String
    /// `Authorization` included when the session decided to send it.
    var headers: [CurlHeader]
    var body: Request.Body?
    /// `Range: bytes=<start>-`.
    var rangeStart: Int64?
    /// Seconds the whole exchange may take; nil: no limit besides the stall detector.
    var timeout: Double?
    /// When it fires, the exchange is abandoned (within about a second, even when stalled).
    var cancellation: Cancellation?
    /// The proxy to go through (`ProxySettings.proxy(for:)`); nil: a direct connection.
    var proxy: String? = nil
}

/// What came back: the status and headers of the final response (the body went to the sink).
struct HTTPAnswer {
    var status: Int
    var headers: [CurlHeader]
    var bodyBytes: Int64
}

/// Performs single exchanges. Connection failures are thrown as `CurlError` (the vocabulary
/// `Session.isRetryable` judges); an error thrown by the sink is rethrown unchanged. One
/// transport serves one thread.
protocol HTTPTransport: AnyObject {
    func exchange(_ exchange: HTTPExchange, sink: (UnsafeRawBufferPointer) throws -> Void) throws -> HTTPAnswer
}

/// Makes one transport per session (each download thread has its own).
typealias HTTPTransportFactory = @Sendable (RegistryOptions) throws(DistributionError) -> any HTTPTransport

/// The libcurl transport: one easy handle, kept alive between exchanges for connection reuse.
final class CurlTransport: HTTPTransport {
    private let easy: CurlEasy
    private let connectMilliseconds: Int

    init(options: RegistryOptions) throws(DistributionError) {
        connectMilliseconds = options.connectTimeout * 1000
        do {
            easy = try CurlEasy()
            try easy.setTimeouts(connectMilliseconds: connectMilliseconds, totalMilliseconds: nil)
            // Stall detection: slower than 1 KiB/s for stallTimeout seconds ends a transfer.
            try easy.setLowSpeedLimit(bytesPerSecond: 1024, seconds: options.stallTimeout)
            try easy.setUserAgent(options.userAgent)
            if options.insecure {
                try easy.setVerifyPeer(false)
                try easy.setVerifyHost(false)
            }
            if let caFile = options.caFile { try easy.setCAFile(caFile) }
        } catch let error as CurlError {
            throw .transport(registry: "local", attempts: 0, underlying: error)
        } catch {
            throw .invalidOption("\(error)")
        }
    }

    static let factory: HTTPTransportFactory = { options throws(DistributionError) in try CurlTransport(options: options) }

    func exchange(_ exchange: HTTPExchange, sink: (UnsafeRawBufferPointer) throws -> Void) throws -> HTTPAnswer {
        try easy.setURL(exchange.url)
        easy.setMethod(exchange.method)
        try easy.setHeaders(exchange.headers)
        try easy.setRange(start: exchange.rangeStart)
        try easy.setProxy(exchange.proxy)
        // curl takes 0 as "no limit": a deadline already used up must still be a limit.
        let total = exchange.timeout.map { max(1, Int(($0 * 1000).rounded(.up))) }
        try easy.setTimeouts(connectMilliseconds: connectMilliseconds, totalMilliseconds: total)
        easy.setAbortCheck(exchange.cancellation.map { cancellation in { cancellation.isCancelled } })
        switch exchange.body {
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
        let response = try easy.perform(sink: sink)
        return HTTPAnswer(status: response.statusCode, headers: response.headers, bodyBytes: response.bodyBytes)
    }
}
