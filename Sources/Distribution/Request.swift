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
    /// The registry's own origin (`scheme://host[:port]`): the only place credentials go.
    /// Redirect targets and upload `Location`s elsewhere get none.
    var registryOrigin: String
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
    /// Whether `Session` may send the request again by itself after a retryable status
    /// (408, 429, 5xx). False for upload bodies: the registry may have stored part of one, so
    /// the upload asks where it stands before sending more.
    var replayable = true
    /// The request itself holds a secret besides any `Authorization` header (a refresh token
    /// in a token request's form body): it never goes through a proxy over plain http.
    var carriesCredentials = false

    init(method: HTTPMethod, url: String, registryOrigin: String, scopes: [Scope] = [], operation: String,
         registry: String, repository: String? = nil) {
        self.method = method
        self.url = url
        self.registryOrigin = registryOrigin
        self.scopes = scopes
        self.operation = operation
        self.registry = registry
        self.repository = repository
    }

    /// A small exchange (manifest, config, token, tag list, upload bookkeeping) that gets an
    /// overall deadline; blob bodies in either direction are bounded by stall detection only.
    func isSmall(into target: BodyTarget) -> Bool {
        if case .file = body { return false }
        return target is BufferTarget
    }
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
