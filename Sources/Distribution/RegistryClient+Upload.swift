import CurlHTTP
import Foundation
import OCISpec

extension RegistryClient {
    static let uploadActions = ["pull", "push"]
    /// The smallest chunk a refused chunk shrinks to: GHCR refuses a `PATCH` body above
    /// 4 MiB, the smallest limit a registry is known to set.
    public static let smallestChunk: Int64 = 4 << 20

    /// Uploads a blob from a file. By default one streamed `PUT` of the whole file after the
    /// `POST` (what oras-go and Apptainer do). Chunks (`PATCH`, inclusive `Content-Range`, at
    /// least the registry's `OCI-Chunk-Min-Length`, always to the newest `Location`) are sent
    /// only to continue an upload that was cut or answered with a retryable status (from
    /// where the registry says it stands), when the registry refuses the single request
    /// (413, 416), or when `options.monolithicUploadLimit` asks for them. A chunk the registry
    /// refuses (416 or 413 without taking it) is halved, down to `smallestChunk`, and no later
    /// chunk of this client to that registry is larger. A session the registry can no longer
    /// continue is abandoned and the upload started once more, unless the registry turns out
    /// to have the blob (a lost answer to the last request).
    public func uploadBlob(_ ref: ImageReference, file: String, digest: Digest, size: Int64) throws(DistributionError) {
        var info = stat()
        guard stat(file, &info) == 0 else { throw .io(operation: "stat", path: file, errno: errno) }
        guard Int64(info.st_size) == size else {
            throw .sizeMismatch(registry: ref.registry, repository: ref.repository, digest: digest, expected: size, actual: Int64(info.st_size))
        }
        var upload = BlobUpload(client: self, ref: ref, file: file, digest: digest, size: size, session: try makeSession())
        do {
            try upload.run()
        } catch {
            guard Self.anotherSessionMayHelp(error) else { throw error }
            if let stored = try? blobExists(ref, digest), stored == size || stored == -1 {
                upload.session.log("upload of blob \(digest.short) failed (\(error)), but the registry has the blob")
                return
            }
            upload.session.log("upload of blob \(digest.short) failed (\(error)); starting a new upload session")
            try upload.run()
        }
    }

    private static func anotherSessionMayHelp(_ error: DistributionError) -> Bool {
        switch error {
        case let .notFound(_, _, what): return what == "upload session"
        case .unauthorized, .denied, .io, .cancelled, .invalidOption, .credentials, .authentication, .deadlineExceeded: return false
        default: return true
        }
    }

    func cancelUpload(_ location: String, ref: ImageReference, session: Session) {
        // Spec: clients SHOULD cancel an abandoned upload; failures are not interesting.
        let req = request(.delete, ref, url: location, operation: "cancel upload", actions: Self.uploadActions)
        _ = try? session.send(req, into: BufferTarget(limit: 64 << 10))
    }

    /// The upload URL the registry answered with. It may be on another origin (a storage
    /// service, an S3-style pre-signed URL): requests there carry no credentials (`Session`
    /// sends them to the registry's origin only). It may never leave https for plain http.
    func uploadLocation(_ response: Response, _ ref: ImageReference, session: Session) throws(DistributionError) -> String {
        guard let value = response.header("Location"), let url = URLs.resolve(value, against: response.url) else {
            throw .invalidResponse(registry: ref.registry, repository: ref.repository, reason: "upload response without Location")
        }
        let origin = registryOrigin(ref)
        guard URLs.keepsTransportSecurity(url, registryOrigin: origin) else {
            throw .invalidResponse(registry: ref.registry, repository: ref.repository,
                                   reason: "refusing to continue the upload at \(URLRedaction.redact(url)) (not https)")
        }
        if URLs.origin(of: url) != origin, URLs.origin(of: url) != URLs.origin(of: response.url) {
            session.log("upload continues at \(URLRedaction.redact(url)) (other host: no Authorization sent)")
        }
        return url
    }

    /// `0-1023` or `bytes=0-1023` → 1023: the last byte a `PATCH` answer says the registry has.
    static func rangeEnd(_ value: String) -> Int64? {
        guard let dash = value.lastIndex(of: "-") else { return nil }
        return Int64(value[value.index(after: dash)...].trimmingCharacters(in: .whitespaces))
    }

    /// How many bytes an upload holds, from the `Range` of a status answer (`GET <location>`).
    /// The spec (and distribution) write the last byte's offset, `0-<end>`, and `0-0` for an
    /// empty upload; Quay writes the count itself behind a `bytes=` prefix (`bytes=0-<count>`,
    /// quay/quay endpoints/v2/blob.py `fetch_existing_upload`).
    static func heldBytes(statusRange value: String) -> Int64? {
        let text = value.trimmingCharacters(in: .whitespaces)
        guard let end = rangeEnd(text), end >= 0 else { return nil }
        if text.lowercased().hasPrefix("bytes=") { return end }
        return end == 0 ? 0 : end + 1
    }

    /// A blob the registry reports storing under another digest is an error, not a success.
    func checkStoredDigest(_ response: Response, _ ref: ImageReference, _ digest: Digest) throws(DistributionError) {
        if let header = response.header("Docker-Content-Digest"), header.hasPrefix("sha256:"), header != digest.description {
            throw .invalidResponse(registry: ref.registry, repository: ref.repository, reason: "registry stored blob \(digest.short) as \(header)")
        }
    }
}

/// Chunk sizes registries refused, per registry origin: a client never sends a chunk above a
/// size its registry has refused once.
final class ChunkLimits: Sendable {
    private let limits = Locked<[String: Int64]>([:])

    func limit(for origin: String) -> Int64? { limits.withLock { $0[origin] } }

    func lower(_ origin: String, to size: Int64) {
        limits.withLock { $0[origin] = Swift.min($0[origin] ?? .max, size) }
    }
}

/// One upload session of one blob: the strategy of `RegistryClient.uploadBlob`, on top of
/// `Session`'s per-request rules (credentials, redirects, authentication).
struct BlobUpload {
    let client: RegistryClient
    let ref: ImageReference
    let file: String
    let digest: Digest
    let size: Int64
    let session: Session
    /// Failed attempts (cuts, retryable statuses) of this session, `PUT` and chunks together.
    private var failures = 0
    private var options: RegistryOptions { client.options }

    init(client: RegistryClient, ref: ImageReference, file: String, digest: Digest, size: Int64, session: Session) {
        (self.client, self.ref, self.file, self.digest, self.size, self.session) = (client, ref, file, digest, size, session)
    }

    /// Where a session stands: the newest `Location` and the bytes the registry holds.
    struct Position {
        var location: String
        var offset: Int64
    }

    /// What one upload request came to: an answer to judge, or a failure after which the
    /// registry may hold part of the body (so it is asked before anything is sent again).
    private enum Outcome {
        case answered(Response)
        case failed(LastFailure, retryAfter: Double?)
    }

    mutating func run() throws(DistributionError) {
        failures = 0
        let (opened, minimumChunk) = try start()
        var position = Position(location: opened, offset: 0)
        do {
            if size <= options.monolithicUploadLimit {
                guard let resume = try putWhole(at: opened) else { return }
                position = resume
            }
            position = try sendChunks(from: position, minimumChunk: minimumChunk)
            try finish(at: position.location)
        } catch {
            client.cancelUpload(position.location, ref: ref, session: session)
            throw error
        }
    }

    private func start() throws(DistributionError) -> (location: String, minimumChunk: Int64) {
        var req = client.request(.post, ref, path: "/blobs/uploads/", operation: "start upload of blob \(digest.short)",
                                 actions: RegistryClient.uploadActions)
        req.body = .bytes([])
        let opened = try session.send(req, into: BufferTarget(limit: 64 << 10))
        try client.expect(opened, [202], req, notFound: "repository")
        let minimum = opened.header("OCI-Chunk-Min-Length").flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) } ?? 0
        return (try client.uploadLocation(opened, ref, session: session), max(0, minimum))
    }

    /// The whole file in one streamed `PUT`. Nil when the registry took it; else where the
    /// upload stands, to be continued in chunks.
    private mutating func putWhole(at location: String) throws(DistributionError) -> Position? {
        var req = client.request(.put, ref, url: URLs.appendingQuery(location, "digest", digest.description),
                                 operation: "upload of blob \(digest.short)", actions: RegistryClient.uploadActions)
        req.headers = [CurlHeader(name: "Content-Type", value: "application/octet-stream")]
        req.body = .file(path: file, offset: 0, length: size)
        req.followRedirects = false
        req.replayable = false
        switch try exchange(req) {
        case let .answered(response) where [201, 204].contains(response.status):
            try client.checkStoredDigest(response, ref, digest)
            return nil
        case let .answered(response) where response.status == 413 || response.status == 416:
            session.log("\(digest.short): the registry refused the blob in one request (\(Self.answer(response))); sending it in chunks")
            return try status(location)
        case let .answered(response):
            try client.expect(response, [201, 204], req, notFound: "upload session")
            return nil
        case let .failed(last, retryAfter):
            session.log("upload of \(digest.short): \(last) during the single-request upload; asking the registry where to resume")
            try noteFailure(last, operation: "upload of blob \(digest.short)", retryAfter: retryAfter)
            return try status(location)
        }
    }

    private mutating func sendChunks(from start: Position, minimumChunk: Int64) throws(DistributionError) -> Position {
        let origin = client.registryOrigin(ref)
        var chunk = max(options.uploadChunkSize, minimumChunk)
        if let refused = client.chunkLimits.limit(for: origin) { chunk = min(chunk, refused) }
        var position = start
        while position.offset < size {
            let length = min(chunk, size - position.offset)
            var req = client.request(.patch, ref, url: position.location, operation: "upload chunk of blob \(digest.short)",
                                     actions: RegistryClient.uploadActions)
            req.headers = [CurlHeader(name: "Content-Type", value: "application/octet-stream"),
                           CurlHeader(name: "Content-Range", value: "\(position.offset)-\(position.offset + length - 1)")]
            req.body = .file(path: file, offset: position.offset, length: length)
            req.followRedirects = false
            req.replayable = false
            switch try exchange(req) {
            case let .answered(response) where response.status == 202:
                // The server's Range says what it has; trust it over our arithmetic.
                let offset = response.header("Range").flatMap(RegistryClient.rangeEnd).map { $0 + 1 } ?? position.offset + length
                let location = try client.uploadLocation(response, ref, session: session)
                guard offset > position.offset else {
                    try noteFailure(.status(202, errors: []), operation: "chunked upload of blob \(digest.short)", retryAfter: nil)
                    position = try status(location)
                    continue
                }
                position = Position(location: location, offset: offset)
            case let .answered(response) where response.status == 413 || response.status == 416:
                let now = try status(position.location)
                if now.offset == position.offset {
                    // Not taken, and not out of order: too large for this registry.
                    guard length > RegistryClient.smallestChunk else {
                        try client.expect(response, [202], req, notFound: "upload session")
                        return now
                    }
                    chunk = max(RegistryClient.smallestChunk, length / 2)
                    client.chunkLimits.lower(origin, to: chunk)
                    session.log("\(digest.short): the registry refused a chunk of \(length) bytes (\(Self.answer(response))); "
                        + "chunks of \(chunk) bytes from now on")
                } else {
                    try noteFailure(.status(response.status, errors: client.scrubbed(response.errors)),
                                    operation: "chunked upload of blob \(digest.short)", retryAfter: nil)
                }
                position = now
            case let .answered(response):
                try client.expect(response, [202], req, notFound: "upload session")
            case let .failed(last, retryAfter):
                session.log("upload of \(digest.short): \(last) at byte \(position.offset); asking the registry where to resume")
                try noteFailure(last, operation: "chunked upload of blob \(digest.short)", retryAfter: retryAfter)
                position = try status(position.location)
            }
        }
        guard position.offset == size else {
            throw .invalidResponse(registry: ref.registry, repository: ref.repository,
                                   reason: "the registry reports \(position.offset) bytes of blob \(digest.short), which has \(size)")
        }
        return position
    }

    /// `GET <location>` → 204 with `Range` and maybe a newer `Location`.
    private func status(_ location: String) throws(DistributionError) -> Position {
        let req = client.request(.get, ref, url: location, operation: "upload status of blob \(digest.short)",
                                 actions: RegistryClient.uploadActions)
        let response = try session.send(req, into: BufferTarget(limit: 64 << 10))
        try client.expect(response, [204, 200], req, notFound: "upload session")
        let next = response.header("Location") != nil ? try client.uploadLocation(response, ref, session: session) : location
        let held = response.header("Range").flatMap(RegistryClient.heldBytes(statusRange:)) ?? 0
        guard held <= size else {
            throw .invalidResponse(registry: ref.registry, repository: ref.repository,
                                   reason: "the registry reports \(held) bytes of blob \(digest.short), which has \(size)")
        }
        return Position(location: next, offset: held)
    }

    private func finish(at location: String) throws(DistributionError) {
        var req = client.request(.put, ref, url: URLs.appendingQuery(location, "digest", digest.description),
                                 operation: "finish upload of blob \(digest.short)", actions: RegistryClient.uploadActions)
        req.headers = [CurlHeader(name: "Content-Type", value: "application/octet-stream")]
        req.body = .bytes([])
        req.followRedirects = false
        let response = try session.send(req, into: BufferTarget(limit: 64 << 10))
        try client.expect(response, [201, 204], req, notFound: "upload session")
        try client.checkStoredDigest(response, ref, digest)
    }

    /// Sends one request with a body. A cut connection or a retryable status comes back as
    /// `.failed` instead of being sent again: the registry may hold part of the body.
    private func exchange(_ req: Request) throws(DistributionError) -> Outcome {
        do {
            let response = try session.send(req, into: BufferTarget(limit: 64 << 10), resumable: true)
            if Session.retryableStatuses.contains(response.status) {
                return .failed(.status(response.status, errors: client.scrubbed(response.errors)),
                               retryAfter: URLs.retryAfter(response.header("Retry-After")))
            }
            return .answered(response)
        } catch let .transport(_, _, underlying) where Session.isRetryable(underlying) {
            return .failed(.transport(underlying), retryAfter: nil)
        }
    }

    /// Counts a failed attempt and waits (backoff, or the registry's `Retry-After` up to
    /// `maxRetryAfter`) before the registry is asked where the upload stands; once
    /// `maxAttempts` are used up, the error says what the last attempt got.
    private mutating func noteFailure(_ last: LastFailure, operation: String, retryAfter: Double?) throws(DistributionError) {
        failures += 1
        guard failures < options.maxAttempts else {
            throw .retriesExhausted(registry: ref.registry, repository: ref.repository, operation: operation, attempts: failures, last: last)
        }
        var delay = session.backoff(failures)
        if let retryAfter { delay = min(max(retryAfter, delay), options.maxRetryAfter) }
        session.log("\(operation): \(last); attempt \(failures + 1)/\(options.maxAttempts) in \(Session.seconds(delay))")
        try session.pause(delay)
    }

    private static func answer(_ response: Response) -> String {
        LastFailure.status(response.status, errors: response.errors).description
    }
}
