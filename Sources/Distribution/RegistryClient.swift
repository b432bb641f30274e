import CurlHTTP
import Foundation
import Hashing
import OCISpec

/// A manifest or index exactly as the registry sent it.
public struct FetchedManifest: Sendable, Hashable {
    /// The bytes received; their sha256 is `digest`. Never re-serialise them.
    public var bytes: [UInt8]
    /// From the body's `mediaType`, else `Content-Type`.
    public var mediaType: String
    public var digest: Digest
    public var isIndex: Bool { MediaType.indexTypes.contains(mediaType) }
}

/// The image `resolve` chose: everything `build` needs before downloading layers.
public struct RegistryImage: Sendable, Hashable {
    public var reference: ImageReference
    /// Digest of the index the tag pointed at, when it pointed at one.
    public var indexDigest: Digest?
    public var manifestDigest: Digest
    public var manifest: Manifest
    public var manifestBytes: [UInt8]
    public var manifestMediaType: String
    public var configBytes: [UInt8]
    public var configDigest: Digest
    /// From the index entry, else from the image config (os/architecture/variant), else the
    /// platform asked for (artifacts without an image config).
    public var platform: Platform
}

/// A registry client over libcurl. Thread-safe; its calls block, so run them off the main
/// actor (e.g. in `Task.detached`). Downloads run on their own threads, one curl handle each.
public final class RegistryClient: Sendable {
    public let options: RegistryOptions
    let authenticator: Authenticator
    let scrubber = SecretScrubber()
    /// Chunk sizes the registry refused (`RegistryClient+Upload`).
    let chunkLimits = ChunkLimits()
    private let warningsShown = Locked<Set<String>>([])
    /// Manifests above this are refused (the spec asks registries to take at least 4 MB).
    static let manifestLimit = 8 << 20
    /// Configs are read into memory; real ones are kilobytes.
    static let configLimit = 32 << 20

    /// Makes the transport of each session (libcurl; a scripted one in tests).
    let transportFactory: HTTPTransportFactory
    /// Waits out a retry delay unless the cancellation fires; true when it did.
    let pause: @Sendable (Double, Cancellation?) -> Bool

    public convenience init(options: RegistryOptions = RegistryOptions()) throws(DistributionError) {
        try self.init(options: options, transport: CurlTransport.factory, pause: Cancellation.sleep)
    }

    init(options: RegistryOptions, transport: @escaping HTTPTransportFactory,
         pause: @escaping @Sendable (Double, Cancellation?) -> Bool) throws(DistributionError) {
        try options.validate()
        self.options = options
        transportFactory = transport
        self.pause = pause
        authenticator = Authenticator(
            resolver: CredentialResolver(sources: options.credentialSources, environment: options.environment,
                                         helperTimeout: options.credentialHelperTimeout),
            scrubber: scrubber, allowPlainHTTPCredentials: options.plainHTTP, plainHTTPRealms: options.plainHTTPRealms)
        for source in options.credentialSources {
            if case let .explicit(credential, _) = source { credential.secrets.forEach(scrubber.add) }
        }
    }

    /// Passes new `Warning` header texts (code 299) to `options.warningHandler`, deduplicated.
    func noteWarnings(_ values: [String]) {
        guard let handler = options.warningHandler else { return }
        for value in values {
            let parts = value.split(separator: " ", maxSplits: 2)
            guard parts.count == 3, parts[0] == "299" else { continue }
            var text = String(parts[2]).trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("\""), let end = text.dropFirst().firstIndex(of: "\"") { text = String(text[text.index(after: text.startIndex)..<end]) }
            let fresh = warningsShown.withLock { shown -> Bool in
                guard shown.count < 10, !shown.contains(text) else { return false }
                shown.insert(text)
                return true
            }
            if fresh { handler(scrub(String(text.prefix(400)))) }
        }
    }

    /// Something the user should know that does not stop the run (a damaged cached blob
    /// replaced): to `options.warningHandler`, else to the log.
    func warn(_ text: String) {
        let text = scrub(text)
        if let handler = options.warningHandler { handler(text) } else { options.logger?("warning: " + text) }
    }

    /// Masks every secret this client knows in `text`.
    public func scrub(_ text: String) -> String { scrubber.scrub(text) }

    /// A registry's error entries with every known secret masked.
    func scrubbed(_ errors: [RegistryErrorEntry]) -> [RegistryErrorEntry] {
        errors.map { RegistryErrorEntry(code: $0.code, message: $0.message.map(scrub)) }
    }

    func makeSession(cancellation: Cancellation? = nil) throws(DistributionError) -> Session {
        try Session(client: self, cancellation: cancellation)
    }

    /// `scheme://host[:port]` of the registry: the one origin credentials are sent to.
    func registryOrigin(_ ref: ImageReference) -> String {
        URLs.origin(of: baseURL(ref)) ?? baseURL(ref)
    }

    func baseURL(_ ref: ImageReference) -> String {
        (options.plainHTTP ? "http://" : "https://") + ref.apiHost + "/v2/" + ref.repository
    }

    func request(_ method: HTTPMethod, _ ref: ImageReference, path: String, operation: String, actions: [String] = ["pull"]) -> Request {
        Request(method: method, url: baseURL(ref) + path, registryOrigin: registryOrigin(ref),
                scopes: [Scope(repository: ref.repository, actions: actions)],
                operation: operation, registry: ref.registry, repository: ref.repository)
    }

    /// A request to a URL the registry gave (an upload `Location`), on behalf of `ref`.
    func request(_ method: HTTPMethod, _ ref: ImageReference, url: String, operation: String, actions: [String]) -> Request {
        Request(method: method, url: url, registryOrigin: registryOrigin(ref),
                scopes: [Scope(repository: ref.repository, actions: actions)],
                operation: operation, registry: ref.registry, repository: ref.repository)
    }

    // MARK: Manifests

    /// GETs a manifest or index by tag or digest, with the full Accept list. Checks the digest
    /// of the received bytes against the pinned digest and against `Docker-Content-Digest`,
    /// and the body's `mediaType` against `Content-Type`.
    public func fetchManifest(_ ref: ImageReference) throws(DistributionError) -> FetchedManifest {
        try fetchManifest(ref, session: makeSession())
    }

    func fetchManifest(_ ref: ImageReference, session: Session) throws(DistributionError) -> FetchedManifest {
        let what = "manifest \(ref.manifestReference)"
        var req = request(.get, ref, path: "/manifests/" + ref.manifestReference, operation: "GET \(what)")
        req.headers = [CurlHeader(name: "Accept", value: MediaType.manifestAccept.joined(separator: ", "))]
        let response = try session.send(req, into: BufferTarget(limit: Self.manifestLimit))
        try expect(response, [200], req, notFound: what)
        let actual = try digest(of: response.body)
        if let pinned = ref.digest, pinned != actual {
            throw .digestMismatch(registry: ref.registry, repository: ref.repository, what: what, expected: pinned, actual: actual)
        }
        if let header = response.header("Docker-Content-Digest"), header.hasPrefix("sha256:") {
            guard let claimed = try? Digest(parsing: header) else {
                throw .invalidResponse(registry: ref.registry, repository: ref.repository, reason: "bad Docker-Content-Digest")
            }
            guard claimed == actual else {
                throw .digestMismatch(registry: ref.registry, repository: ref.repository, what: what, expected: claimed, actual: actual)
            }
        }
        let contentType = response.header("Content-Type").map { Self.bareMediaType($0) }
        let declared = MediaTypeProbe.kind(of: response.body)
        if let contentType, let declared, contentType != declared,
            MediaType.manifestTypes.contains(contentType) || MediaType.indexTypes.contains(contentType)
        {
            throw .invalidResponse(registry: ref.registry, repository: ref.repository,
                                   reason: "\(what): body says \(declared) but Content-Type says \(contentType)")
        }
        guard let mediaType = declared ?? contentType else {
            throw .invalidResponse(registry: ref.registry, repository: ref.repository, reason: "\(what): no media type")
        }
        return FetchedManifest(bytes: response.body, mediaType: mediaType, digest: actual)
    }

    /// HEAD of a manifest: its digest, size and media type without counting as a pull on
    /// Docker Hub. Nil when it does not exist.
    public func headManifest(_ ref: ImageReference) throws(DistributionError) -> Descriptor? {
        let session = try makeSession()
        var req = request(.head, ref, path: "/manifests/" + ref.manifestReference, operation: "HEAD manifest \(ref.manifestReference)")
        req.headers = [CurlHeader(name: "Accept", value: MediaType.manifestAccept.joined(separator: ", "))]
        let response = try session.send(req, into: BufferTarget(limit: 64 << 10))
        if response.status == 404 { return nil }
        try expect(response, [200], req, notFound: "manifest")
        guard let header = response.header("Docker-Content-Digest"), let digest = try? Digest(parsing: header) else {
            // Older registries omit the digest on HEAD; fall back to a GET.
            let fetched = try fetchManifest(ref, session: session)
            return Descriptor(mediaType: fetched.mediaType, digest: fetched.digest, size: Int64(fetched.bytes.count))
        }
        if let pinned = ref.digest, pinned != digest {
            throw .digestMismatch(registry: ref.registry, repository: ref.repository, what: "manifest", expected: pinned, actual: digest)
        }
        let size = response.header("Content-Length").flatMap { Int64($0) } ?? -1
        let mediaType = response.header("Content-Type").map { Self.bareMediaType($0) } ?? MediaType.ociManifest
        return Descriptor(mediaType: mediaType, digest: digest, size: size)
    }

    /// Resolves a reference to one image: follows an index to the manifest for `platform`
    /// (attestation entries skipped), checks every digest, and reads the config.
    public func resolve(_ ref: ImageReference, platform: Platform = .host) throws(DistributionError) -> RegistryImage {
        let session = try makeSession()
        var fetched = try fetchManifest(ref, session: session)
        var indexDigest: Digest?
        var chosenPlatform: Platform?
        if fetched.isIndex {
            let index: Index
            do { index = try Index.decode(fetched.bytes) } catch {
                throw .invalidResponse(registry: ref.registry, repository: ref.repository, reason: "\(error)")
            }
            let entry = try select(platform, in: index, digest: fetched.digest, of: ref, session: session)
            guard MediaType.manifestTypes.contains(entry.mediaType) else {
                throw .unsupportedMediaType(registry: ref.registry, repository: ref.repository, mediaType: entry.mediaType)
            }
            indexDigest = fetched.digest
            chosenPlatform = entry.platform
            fetched = try fetchManifest(ref.pinned(to: entry.digest), session: session)
            guard Int64(fetched.bytes.count) == entry.size else {
                throw .sizeMismatch(registry: ref.registry, repository: ref.repository, digest: entry.digest,
                                    expected: entry.size, actual: Int64(fetched.bytes.count))
            }
        }
        guard MediaType.manifestTypes.contains(fetched.mediaType) else {
            throw .unsupportedMediaType(registry: ref.registry, repository: ref.repository, mediaType: fetched.mediaType)
        }
        let manifest: Manifest
        do { manifest = try Manifest.decode(fetched.bytes) } catch {
            throw .invalidResponse(registry: ref.registry, repository: ref.repository, reason: "\(error)")
        }
        let configBytes = try fetchBlobBytes(ref, manifest.config, limit: Self.configLimit, session: session)
        if chosenPlatform == nil, let config = try? ImageConfig.decode(configBytes) { chosenPlatform = config.platform }
        return RegistryImage(
            reference: ref, indexDigest: indexDigest, manifestDigest: fetched.digest, manifest: manifest,
            manifestBytes: fetched.bytes, manifestMediaType: fetched.mediaType, configBytes: configBytes,
            configDigest: manifest.config.digest, platform: chosenPlatform ?? platform)
    }

    /// The manifest for `platform` in the index `ref` named (which has `digest`), following indexes
    /// nested in it two levels deep (each fetched, size and digest checked).
    public func select(_ platform: Platform, in index: Index, digest: Digest, of ref: ImageReference)
        throws(DistributionError) -> Descriptor
    {
        try select(platform, in: index, digest: digest, of: ref, session: makeSession())
    }

    func select(_ platform: Platform, in index: Index, digest: Digest, of ref: ImageReference, session: Session)
        throws(DistributionError) -> Descriptor
    {
        do {
            return try index.selectManifest(for: platform, digest: digest) { nested in
                let fetched = try fetchManifest(ref.pinned(to: nested.digest), session: session)
                guard Int64(fetched.bytes.count) == nested.size else {
                    throw DistributionError.sizeMismatch(registry: ref.registry, repository: ref.repository, digest: nested.digest,
                                                         expected: nested.size, actual: Int64(fetched.bytes.count))
                }
                guard fetched.isIndex else {
                    throw DistributionError.unsupportedMediaType(registry: ref.registry, repository: ref.repository,
                                                                 mediaType: fetched.mediaType)
                }
                return try Index.decode(fetched.bytes)
            }.manifest
        } catch let error as DistributionError {
            throw error
        } catch OCISpecError.noMatchingPlatform(_, let available) {
            throw .platformNotFound(reference: ref.description, wanted: platform, available: available)
        } catch let error as OCISpecError {
            throw .invalidInput(error)
        } catch {
            throw .invalidResponse(registry: ref.registry, repository: ref.repository, reason: "\(error)")
        }
    }

    /// A small blob (a config) into memory, size and digest checked. Inline `data` of the
    /// descriptor (ORAS-style) is used without a request, after the same checks.
    public func fetchBlobBytes(_ ref: ImageReference, _ descriptor: Descriptor, limit: Int = 32 << 20) throws(DistributionError) -> [UInt8] {
        try fetchBlobBytes(ref, descriptor, limit: limit, session: makeSession())
    }

    func fetchBlobBytes(_ ref: ImageReference, _ descriptor: Descriptor, limit: Int, session: Session) throws(DistributionError) -> [UInt8] {
        let what = "blob \(descriptor.digest)"
        guard descriptor.size >= 0, descriptor.size <= Int64(limit) else {
            throw .invalidResponse(registry: ref.registry, repository: ref.repository, reason: "\(what) of \(descriptor.size) bytes is too large to read into memory")
        }
        var bytes: [UInt8]
        if let inline = descriptor.data, let data = Data(base64Encoded: inline) {
            bytes = Array(data)
        } else {
            let req = request(.get, ref, path: "/blobs/" + descriptor.digest.description, operation: "GET \(what)")
            let response = try session.send(req, into: BufferTarget(limit: limit))
            try expect(response, [200], req, notFound: what)
            bytes = response.body
        }
        guard Int64(bytes.count) == descriptor.size else {
            throw .sizeMismatch(registry: ref.registry, repository: ref.repository, digest: descriptor.digest,
                                expected: descriptor.size, actual: Int64(bytes.count))
        }
        let actual = try digest(of: bytes)
        guard actual == descriptor.digest else {
            throw .digestMismatch(registry: ref.registry, repository: ref.repository, what: what, expected: descriptor.digest, actual: actual)
        }
        return bytes
    }

    // MARK: Shared checks

    /// Maps a response to the error it deserves unless its status is one of `accepted`.
    func expect(_ response: Response, _ accepted: Set<Int>, _ req: Request, notFound: String) throws(DistributionError) {
        if accepted.contains(response.status) { return }
        let errors = scrubbed(response.errors)
        switch response.status {
        case 401 where errors.contains { $0.code == "DENIED" }, 403:
            throw .denied(registry: req.registry, repository: req.repository, operation: req.operation, errors: errors)
        case 401:
            throw .unauthorized(registry: req.registry, repository: req.repository, operation: req.operation, errors: errors)
        case 404 where req.repository != nil:
            throw .notFound(registry: req.registry, repository: req.repository!, what: notFound)
        default:
            throw .unexpectedStatus(registry: req.registry, repository: req.repository, operation: req.operation,
                                    status: response.status, errors: errors)
        }
    }

    func digest(of bytes: [UInt8]) throws(DistributionError) -> Digest {
        do {
            return try Digest(sha256Hex: SHA256.hash(bytes).hex)
        } catch {
            throw .cache(path: "memory", reason: "hashing failed: \(error)")
        }
    }

    /// `application/json; charset=utf-8` → `application/json`.
    static func bareMediaType(_ value: String) -> String {
        String(value.split(separator: ";").first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
    }
}
