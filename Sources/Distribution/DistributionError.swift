import CurlHTTP
import Foundation
import OCISpec
#if canImport(Glibc)
import Glibc
#endif

/// Every failure the Distribution module reports. Each names the registry (and the repository
/// and digest when there is one). None ever holds a credential or token: URLs are redacted with
/// `URLRedaction`, request headers are never copied, and text that came from a server or a
/// credential helper is scrubbed of every secret the client knows before it lands here.
public enum DistributionError: Error, Sendable, CustomStringConvertible {
    /// A reference, digest or platform could not be parsed.
    case invalidInput(OCISpecError)
    /// The registry answered with a status the operation does not expect. `errors` are the
    /// `{"errors":[{code,message}]}` entries of the body, when it had them.
    case unexpectedStatus(registry: String, repository: String?, operation: String, status: Int, errors: [RegistryErrorEntry])
    /// 401 even after authenticating (bad or missing credentials).
    case unauthorized(registry: String, repository: String?, operation: String, errors: [RegistryErrorEntry])
    /// 403, or 401 with `DENIED`: the credentials work but do not allow this (e.g. push).
    case denied(registry: String, repository: String?, operation: String, errors: [RegistryErrorEntry])
    /// 404 for a manifest or blob.
    case notFound(registry: String, repository: String, what: String)
    /// Bytes received do not hash to the digest they must have.
    case digestMismatch(registry: String, repository: String, what: String, expected: Digest, actual: Digest)
    /// A blob or manifest had another size than its descriptor or Content-Length said.
    case sizeMismatch(registry: String, repository: String, digest: Digest?, expected: Int64, actual: Int64)
    /// A manifest of a kind sifter cannot read.
    case unsupportedMediaType(registry: String, repository: String, mediaType: String)
    /// The index has no image for the wanted platform.
    case platformNotFound(reference: String, wanted: Platform, available: [String])
    /// The registry's response is malformed (missing header, bad JSON, ...).
    case invalidResponse(registry: String, repository: String?, reason: String)
    /// Getting a token or using a challenge failed.
    case authentication(registry: String, reason: String)
    /// Credentials could not be read (config.json, credential helper).
    case credentials(source: String, reason: String)
    /// The network failed, after all retries.
    case transport(registry: String, attempts: Int, underlying: CurlError)
    /// Retryable statuses (429, 5xx) or connection failures kept coming until the attempts ran
    /// out; `last` is what the last attempt got.
    case retriesExhausted(registry: String, repository: String?, operation: String, attempts: Int, last: LastFailure)
    /// A small request (manifest, config, token, tag list, upload bookkeeping) did not complete
    /// within `RegistryOptions.requestTimeout`, retries included.
    case deadlineExceeded(registry: String, repository: String?, operation: String, seconds: Double)
    /// A cached blob did not match its descriptor and was removed, and fetching it again failed.
    indirect case damagedCacheBlob(path: String, problem: String, refetch: DistributionError)
    /// A file system operation on the cache or an upload source failed.
    case io(operation: String, path: String, errno: Int32)
    /// The blob cache is in a state it cannot use.
    case cache(path: String, reason: String)
    /// Options that cannot work together, or a bad argument.
    case invalidOption(String)
    /// Another download failed first, so this one stopped.
    case cancelled

    public var description: String {
        switch self {
        case let .invalidInput(error):
            return error.description
        case let .unexpectedStatus(registry, repository, operation, status, errors):
            return "\(Self.place(registry, repository)): \(operation) failed with HTTP \(status)\(Self.render(errors))"
        case let .unauthorized(registry, repository, operation, errors):
            return "\(Self.place(registry, repository)): \(operation): authentication required or credentials rejected"
                + Self.render(errors) + " (give credentials with -u/--password-stdin, SIFTER_USERNAME/SIFTER_PASSWORD, --authfile, docker login or apptainer registry login)"
        case let .denied(registry, repository, operation, errors):
            return "\(Self.place(registry, repository)): \(operation): access denied\(Self.render(errors))"
                + " (the credentials do not grant this; pushing needs pull and push rights on the repository)"
        case let .notFound(registry, repository, what):
            return "\(Self.place(registry, repository)): \(what) not found"
        case let .digestMismatch(registry, repository, what, expected, actual):
            return "\(Self.place(registry, repository)): \(what) has digest \(actual), expected \(expected)"
        case let .sizeMismatch(registry, repository, digest, expected, actual):
            let which = digest.map { "blob \($0)" } ?? "content"
            return "\(Self.place(registry, repository)): \(which) is \(actual) bytes, expected \(expected)"
        case let .unsupportedMediaType(registry, repository, mediaType):
            return "\(Self.place(registry, repository)): unsupported manifest media type \"\(mediaType)\""
        case let .platformNotFound(reference, wanted, available):
            let list = available.isEmpty ? "none" : available.joined(separator: ", ")
            return "\(reference): no image for platform \(wanted); available: \(list) (choose one with --platform)"
        case let .invalidResponse(registry, repository, reason):
            return "\(Self.place(registry, repository)): invalid response: \(reason)"
        case let .authentication(registry, reason):
            return "\(registry): authentication failed: \(reason)"
        case let .credentials(source, reason):
            return "credentials from \(source): \(reason)"
        case let .transport(registry, attempts, underlying):
            return "\(registry): \(underlying) (after \(attempts) attempt\(attempts == 1 ? "" : "s"))"
        case let .retriesExhausted(registry, repository, operation, attempts, last):
            return "\(Self.place(registry, repository)): \(operation) still failing after \(attempts) attempts; the last one got \(last)"
        case let .deadlineExceeded(registry, repository, operation, seconds):
            return "\(Self.place(registry, repository)): \(operation) did not complete within its deadline of \(Self.duration(seconds))"
                + " (SIFTER_REQUEST_TIMEOUT sets it; blob transfers have none and stop only when stalled)"
        case let .damagedCacheBlob(path, problem, refetch):
            return "blob cache \(path): the cached blob \(problem), so it was removed, but fetching it again failed: \(refetch)"
        case let .io(operation, path, code):
            return "\(operation) \(path) failed: \(String(cString: strerror(code))) (errno \(code))"
        case let .cache(path, reason):
            return "blob cache \(path): \(reason)"
        case let .invalidOption(reason):
            return reason
        case .cancelled:
            return "cancelled because another transfer failed"
        }
    }

    static func duration(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : String(format: "%.1f s", seconds)
    }

    private static func place(_ registry: String, _ repository: String?) -> String {
        repository.map { "\(registry)/\($0)" } ?? registry
    }

    private static func render(_ errors: [RegistryErrorEntry]) -> String {
        errors.isEmpty ? "" : ": " + errors.map(\.description).joined(separator: "; ")
    }
}

/// What the last attempt of a retried request got: an HTTP status (with the registry's error
/// entries) or a connection failure, never a made-up status.
public enum LastFailure: Sendable, CustomStringConvertible {
    case status(Int, errors: [RegistryErrorEntry])
    case transport(CurlError)

    public var description: String {
        switch self {
        case let .status(status, errors):
            return "HTTP \(status)" + (errors.isEmpty ? "" : ": " + errors.map(\.description).joined(separator: "; "))
        case let .transport(error):
            return "no answer: \(error)"
        }
    }
}

/// One entry of a registry's JSON error body (distribution-spec "Error Codes").
public struct RegistryErrorEntry: Sendable, Hashable, Decodable, CustomStringConvertible {
    public var code: String
    public var message: String?

    public init(code: String, message: String?) {
        self.code = code
        self.message = message
    }

    enum CodingKeys: String, CodingKey { case code, message }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = (try? container.decode(String.self, forKey: .code)) ?? "UNKNOWN"
        message = try? container.decode(String.self, forKey: .message)
    }

    public var description: String {
        guard let message, !message.isEmpty else { return code }
        return "\(code) \(message)"
    }

    /// Reads `{"errors":[…]}`; anything else (HTML from a proxy, plain text 429s) gives [].
    /// Messages are cut at 300 characters so a hostile body cannot flood the terminal.
    static func parse(_ body: [UInt8]) -> [RegistryErrorEntry] {
        struct Envelope: Decodable { var errors: [RegistryErrorEntry] }
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(body.prefix(64 * 1024))) else { return [] }
        return envelope.errors.prefix(5).map { entry in
            var entry = entry
            entry.message = entry.message.map { String($0.prefix(300)) }
            return entry
        }
    }
}

