import Foundation
import Synchronization

/// How a `RegistryClient` connects, authenticates and retries.
public struct RegistryOptions: Sendable {
    /// Tried in order; the first with credentials for a registry wins. No source (or none
    /// matching) means anonymous, which is how public GHCR and Hub images are pulled.
    public var credentialSources: [CredentialSource]
    /// Environment used for `SIFTER_*`, `DOCKER_CONFIG`, `HOME`, `PATH` (for helpers).
    public var environment: [String: String]
    /// Use `http://` instead of `https://` (local test registries), as `oras --plain-http`.
    public var plainHTTP: Bool
    /// Do not verify TLS certificates (as `oras --insecure`). Ignored with `plainHTTP`.
    public var insecure: Bool
    /// A PEM bundle to trust instead of the system CAs.
    public var caFile: String?
    /// Blobs downloaded at once by `fetchBlobs`.
    public var parallelDownloads: Int
    /// Attempts per request (the first try included) on connection errors, 408, 429 and 5xx.
    public var maxAttempts: Int
    /// First backoff delay; doubles each attempt, with ±20 % jitter, up to `maxRetryDelay`.
    public var initialRetryDelay: Double
    public var maxRetryDelay: Double
    /// Longest `Retry-After` honoured; larger values are clamped so a run never hangs for hours.
    public var maxRetryAfter: Double
    /// Blobs up to this size go up in one streamed PUT (the default: all of them); larger ones
    /// in PATCH chunks of `uploadChunkSize`.
    public var monolithicUploadLimit: Int64
    /// The size of chunks when there are chunks: forced by `monolithicUploadLimit`, or to
    /// continue an interrupted upload, or because the registry refused the single request.
    /// Raised to the registry's `OCI-Chunk-Min-Length`; lowered (down to 4 MiB) when the
    /// registry refuses a chunk as too large (GHCR: above 4 MiB).
    public var uploadChunkSize: Int64
    /// Seconds to wait for a connection.
    public var connectTimeout: Int
    /// A transfer slower than 1 KiB/s for this many seconds is aborted (and retried). Blob
    /// transfers have only this limit: a big layer may legitimately take hours.
    public var stallTimeout: Int
    /// Seconds a small request — manifest, config, token, tag list, upload bookkeeping — may
    /// take in all, retries and their waits included (a server trickling a manifest just above
    /// the stall limit would otherwise hold a run for hours). `SIFTER_REQUEST_TIMEOUT`; 300.
    public var requestTimeout: Double
    /// Seconds a docker credential helper may take to answer before it (and its process
    /// group) is killed. `SIFTER_CREDENTIAL_HELPER_TIMEOUT`; 30.
    public var credentialHelperTimeout: Double
    /// Plain-http token services that may receive credentials besides the registry's own
    /// origin and loopback addresses, as `host` or `host:port` (only with `plainHTTP`).
    /// `SIFTER_PLAIN_HTTP_REALMS`, comma-separated; empty by default.
    public var plainHTTPRealms: Set<String>
    /// The proxies requests go through (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, … of
    /// `environment`; see `ProxySettings`).
    public var proxies: ProxySettings
    /// Proxies trusted with credentials sent over plain http, as `host` or `host:port`
    /// (`SIFTER_PLAIN_HTTP_PROXIES`, comma-separated; empty by default). A plain-http request
    /// goes to a proxy as it is, `Authorization` included, so one that carries credentials
    /// is refused before connecting unless its proxy is listed here.
    public var plainHTTPProxies: Set<String>
    /// Receives one line per request and retry when set (`--verbose`). Lines carry methods,
    /// redacted URLs, statuses and sizes; never a header value, token or password.
    public var logger: (@Sendable (String) -> Void)?
    /// Receives each distinct `Warning: 299 - "…"` text a registry sends (deprecations, quota
    /// notices), which the spec says to show to the user; at most 10 per client.
    public var warningHandler: (@Sendable (String) -> Void)?
    /// `User-Agent` sent with every request.
    public var userAgent: String

    public init(
        credentialSources: [CredentialSource] = [.environment(registries: nil), .apptainerEnvironment(registries: nil), .dockerConfig(paths: nil)],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        plainHTTP: Bool = false,
        insecure: Bool = false,
        caFile: String? = nil,
        parallelDownloads: Int = 4,
        maxAttempts: Int = 5,
        logger: (@Sendable (String) -> Void)? = nil
    ) {
        self.credentialSources = credentialSources
        self.environment = environment
        self.plainHTTP = plainHTTP
        self.insecure = insecure
        self.caFile = caFile
        self.parallelDownloads = parallelDownloads
        self.maxAttempts = maxAttempts
        self.initialRetryDelay = 0.25
        self.maxRetryDelay = 10
        self.maxRetryAfter = 60
        self.monolithicUploadLimit = .max
        self.uploadChunkSize = 32 << 20
        self.connectTimeout = 30
        self.stallTimeout = 60
        self.logger = logger
        self.userAgent = "sifter"
        var problems: [String] = []
        func seconds(_ name: String, _ fallback: Double) -> Double {
            guard let text = environment[name], !text.isEmpty else { return fallback }
            if let value = Double(text), value > 0, value.isFinite { return value }
            if let value = try? BlobCache.parseDuration(text), value > 0 { return value }
            problems.append("\(name)=\(text) is not a duration (examples: 300, 90s, 5m)")
            return fallback
        }
        self.requestTimeout = seconds("SIFTER_REQUEST_TIMEOUT", 300)
        self.credentialHelperTimeout = seconds("SIFTER_CREDENTIAL_HELPER_TIMEOUT", 30)
        func list(_ name: String) -> Set<String> {
            Set((environment[name] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                .filter { !$0.isEmpty })
        }
        self.plainHTTPRealms = list("SIFTER_PLAIN_HTTP_REALMS")
        self.proxies = ProxySettings(environment: environment)
        self.plainHTTPProxies = list("SIFTER_PLAIN_HTTP_PROXIES")
        self.environmentProblems = problems
    }

    /// Settings from the environment that could not be read; `validate` reports them.
    var environmentProblems: [String] = []

    func validate() throws(DistributionError) {
        guard parallelDownloads >= 1, parallelDownloads <= 64 else {
            throw .invalidOption("parallel downloads must be between 1 and 64, not \(parallelDownloads)")
        }
        guard maxAttempts >= 1, maxAttempts <= 100 else {
            throw .invalidOption("attempts must be between 1 and 100, not \(maxAttempts)")
        }
        if let problem = environmentProblems.first { throw .invalidOption(problem) }
        guard requestTimeout > 0, credentialHelperTimeout > 0 else {
            throw .invalidOption("timeouts must be positive")
        }
        guard uploadChunkSize >= 1, monolithicUploadLimit >= 0 else {
            throw .invalidOption("upload chunk size must be positive")
        }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw .invalidOption("CA file \(caFile) is not readable")
        }
    }
}

/// A value behind a lock, for state the download threads share: a class around `Mutex`, so
/// that closures and threads can share it by reference.
final class Locked<Value>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: sending Value) { mutex = Mutex(value) }

    func withLock<T, E: Error>(_ body: (inout sending Value) throws(E) -> sending T) throws(E) -> T {
        try mutex.withLock(body)
    }
}

/// Secrets the client has seen (passwords, Basic headers, tokens): every log line and every
/// text from a server is passed through `scrub` before anyone sees it.
final class SecretScrubber: Sendable {
    private let secrets = Locked<Set<String>>([])

    func add(_ secret: String) {
        // Very short strings would mask innocent text and are not credentials anyway.
        guard secret.count >= 6 else { return }
        secrets.withLock { _ = $0.insert(secret) }
    }

    func scrub(_ text: String) -> String {
        let known = secrets.withLock { $0 }
        var result = text
        for secret in known where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: "<redacted>")
        }
        return result
    }
}
