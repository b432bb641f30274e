import CurlHTTP
import Foundation
import OCISpec

extension RegistryClient {
    private static let push = ["pull", "push"]

    /// HEAD of a blob: its size when the repository has it, nil when not. Used before every
    /// upload, since a blob the registry already has need not travel again.
    public func blobExists(_ ref: ImageReference, _ digest: Digest) throws(DistributionError) -> Int64? {
        let session = try makeSession()
        let req = request(.head, ref, path: "/blobs/" + digest.description, operation: "HEAD blob \(digest.short)", actions: Self.push)
        let response = try session.send(req, into: BufferTarget(limit: 64 << 10))
        if response.status == 404 { return nil }
        try expect(response, [200], req, notFound: "blob \(digest)")
        return response.header("Content-Length").flatMap { Int64($0) } ?? -1
    }

    /// Asks the registry to link a blob from another repository on the same registry
    /// (`POST …/uploads/?mount=&from=`). True when mounted; false when the registry declined
    /// (then upload the blob) — registries may ignore `from`, and some fail on it.
    public func mountBlob(_ digest: Digest, from sourceRepository: String, into ref: ImageReference) throws(DistributionError) -> Bool {
        let session = try makeSession()
        var req = request(.post, ref, path: "/blobs/uploads/", operation: "mount blob \(digest.short)", actions: Self.push)
        req.url = URLs.appendingQuery(URLs.appendingQuery(req.url, "mount", digest.description), "from", sourceRepository)
        req.scopes.append(Scope(repository: sourceRepository, actions: ["pull"]))
        let response = try session.send(req, into: BufferTarget(limit: 64 << 10))
        switch response.status {
        case 201:
            return true
        case 202:
            // Not mounted, but an upload session was opened: close it, the caller uploads anew.
            if let url = try? uploadLocation(response, ref, session: session) {
                cancelUpload(url, ref: ref, session: session)
            }
            return false
        case 401, 403:
            try expect(response, [], req, notFound: "blob")
            return false
        default:
            return false
        }
    }

    /// HEAD, then (optionally) a cross-repository mount, then an upload: what the push
    /// command does per blob. Returns what happened, for its report.
    public enum BlobPushResult: Sendable, Hashable { case existed, mounted, uploaded }

    public func pushBlob(_ ref: ImageReference, file: String, digest: Digest, size: Int64, mountFrom: String? = nil)
        throws(DistributionError) -> BlobPushResult
    {
        if try blobExists(ref, digest) != nil { return .existed }
        if let mountFrom, mountFrom != ref.repository, try mountBlob(digest, from: mountFrom, into: ref) { return .mounted }
        try uploadBlob(ref, file: file, digest: digest, size: size)
        return .uploaded
    }

    /// Uploads a blob from a file: one POST + PUT up to `options.monolithicUploadLimit`,
    /// PATCH chunks above it (inclusive `Content-Range`, at least `OCI-Chunk-Min-Length`, always
    /// the newest `Location`, resuming from the server's `Range` after a failure).
    /// A session the registry can no longer continue (distribution loses it when a response
    /// with the newest `Location` is lost) is abandoned and the upload started once more.
    public func uploadBlob(_ ref: ImageReference, file: String, digest: Digest, size: Int64) throws(DistributionError) {
        var info = stat()
        guard stat(file, &info) == 0 else { throw .io(operation: "stat", path: file, errno: errno) }
        guard Int64(info.st_size) == size else {
            throw .sizeMismatch(registry: ref.registry, repository: ref.repository, digest: digest, expected: size, actual: Int64(info.st_size))
        }
        let session = try makeSession()
        do {
            try uploadOnce(ref, file: file, digest: digest, size: size, session: session)
        } catch {
            switch error {
            case let .notFound(_, _, what) where what != "upload session":
                throw error
            case .unauthorized, .denied, .io, .cancelled, .invalidOption, .credentials, .authentication, .deadlineExceeded:
                throw error
            default:
                session.log("upload of blob \(digest.short) failed (\(error)); starting a new upload session")
                try uploadOnce(ref, file: file, digest: digest, size: size, session: session)
            }
        }
    }

    private func uploadOnce(_ ref: ImageReference, file: String, digest: Digest, size: Int64, session: Session) throws(DistributionError) {
        var start = request(.post, ref, path: "/blobs/uploads/", operation: "start upload of blob \(digest.short)", actions: Self.push)
        start.body = .bytes([])
        let opened = try session.send(start, into: BufferTarget(limit: 64 << 10))
        try expect(opened, [202], start, notFound: "repository")
        var location = try uploadLocation(opened, ref, session: session)
        do {
            if size > options.monolithicUploadLimit {
                let minimum = opened.header("OCI-Chunk-Min-Length").flatMap { Int64($0) } ?? 0
                location = try uploadChunks(ref, file: file, size: size, digest: digest, location: location,
                                            chunk: max(options.uploadChunkSize, minimum), session: session)
                try finishUpload(ref, location: location, digest: digest, body: nil, session: session)
            } else {
                try finishUpload(ref, location: location, digest: digest, body: .file(path: file, offset: 0, length: size), session: session)
            }
        } catch {
            cancelUpload(location, ref: ref, session: session)
            throw error
        }
    }

    private func uploadChunks(
        _ ref: ImageReference, file: String, size: Int64, digest: Digest, location: String, chunk: Int64, session: Session
    ) throws(DistributionError) -> String {
        var location = location
        var offset: Int64 = 0
        var failures = 0
        while offset < size {
            let length = min(chunk, size - offset)
            var req = request(.patch, ref, url: location, operation: "upload chunk of blob \(digest.short)", actions: Self.push)
            req.headers = [CurlHeader(name: "Content-Type", value: "application/octet-stream"),
                           CurlHeader(name: "Content-Range", value: "\(offset)-\(offset + length - 1)")]
            req.body = .file(path: file, offset: offset, length: length)
            req.followRedirects = false
            let last: LastFailure
            do {
                let response = try session.send(req, into: BufferTarget(limit: 64 << 10), resumable: true)
                if response.status == 202 {
                    location = try uploadLocation(response, ref, session: session)
                    // The server's Range says what it has; trust it over our arithmetic.
                    offset = response.header("Range").flatMap(Self.rangeEnd).map { $0 + 1 } ?? offset + length
                    continue
                }
                guard response.status == 416 || response.status >= 500 else {
                    try expect(response, [202], req, notFound: "upload session")
                    continue
                }
                last = .status(response.status, errors: scrubbed(response.errors))
            } catch let .transport(_, _, underlying) where Session.isRetryable(underlying) {
                session.log("upload of \(digest.short): \(underlying) at byte \(offset); asking the registry where to resume")
                last = .transport(underlying)
            }
            failures += 1
            guard failures < options.maxAttempts else {
                throw .retriesExhausted(registry: ref.registry, repository: ref.repository, operation: "chunked upload of blob \(digest.short)",
                                        attempts: failures, last: last)
            }
            (location, offset) = try uploadStatus(ref, location: location, session: session)
        }
        return location
    }

    /// `GET <location>` → 204 with `Range: 0-<end>` (Quay writes `bytes=0-<end>`) and maybe a
    /// new `Location`.
    private func uploadStatus(_ ref: ImageReference, location: String, session: Session) throws(DistributionError) -> (String, Int64) {
        let req = request(.get, ref, url: location, operation: "upload status", actions: Self.push)
        let response = try session.send(req, into: BufferTarget(limit: 64 << 10))
        try expect(response, [204, 200], req, notFound: "upload session")
        let next = response.header("Location") != nil ? try uploadLocation(response, ref, session: session) : location
        let end = response.header("Range").flatMap(Self.rangeEnd)
        return (next, end.map { $0 + 1 } ?? 0)
    }

    private func finishUpload(_ ref: ImageReference, location: String, digest: Digest, body: Request.Body?, session: Session)
        throws(DistributionError)
    {
        var req = request(.put, ref, url: URLs.appendingQuery(location, "digest", digest.description),
                          operation: "finish upload of blob \(digest.short)", actions: Self.push)
        req.headers = [CurlHeader(name: "Content-Type", value: "application/octet-stream")]
        req.body = body ?? .bytes([])
        req.followRedirects = false
        let response = try session.send(req, into: BufferTarget(limit: 64 << 10))
        try expect(response, [201, 204], req, notFound: "upload session")
        if let header = response.header("Docker-Content-Digest"), header.hasPrefix("sha256:"), header != digest.description {
            throw .invalidResponse(registry: ref.registry, repository: ref.repository, reason: "registry stored blob \(digest.short) as \(header)")
        }
    }

    private func cancelUpload(_ location: String, ref: ImageReference, session: Session) {
        // Spec: clients SHOULD cancel an abandoned upload; failures are not interesting.
        let req = request(.delete, ref, url: location, operation: "cancel upload", actions: Self.push)
        _ = try? session.send(req, into: BufferTarget(limit: 64 << 10))
    }

    /// The upload URL the registry answered with. It may be on another origin (a storage
    /// service, an S3-style pre-signed URL): requests there carry no credentials (`Session`
    /// sends them to the registry's origin only). It may never leave https for plain http.
    private func uploadLocation(_ response: Response, _ ref: ImageReference, session: Session) throws(DistributionError) -> String {
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

    /// `0-1023` or `bytes=0-1023` → 1023.
    static func rangeEnd(_ value: String) -> Int64? {
        guard let dash = value.lastIndex(of: "-") else { return nil }
        return Int64(value[value.index(after: dash)...].trimmingCharacters(in: .whitespaces))
    }

    // MARK: Manifests and tags

    /// PUTs a manifest (by tag, or by digest when `ref` is pinned) and checks the digest the
    /// registry reports. Returns the manifest's digest.
    @discardableResult
    public func putManifest(_ bytes: [UInt8], mediaType: String, to ref: ImageReference) throws(DistributionError) -> Digest {
        let digest = try digest(of: bytes)
        if let pinned = ref.digest, pinned != digest {
            throw .digestMismatch(registry: ref.registry, repository: ref.repository, what: "manifest to push", expected: pinned, actual: digest)
        }
        let session = try makeSession()
        var req = request(.put, ref, path: "/manifests/" + ref.manifestReference, operation: "PUT manifest \(ref.manifestReference)", actions: Self.push)
        req.headers = [CurlHeader(name: "Content-Type", value: mediaType)]
        req.body = .bytes(bytes)
        req.followRedirects = false
        let response = try session.send(req, into: BufferTarget(limit: 64 << 10))
        try expect(response, [201, 200], req, notFound: "repository")
        if let header = response.header("Docker-Content-Digest"), header.hasPrefix("sha256:"), header != digest.description {
            throw .invalidResponse(registry: ref.registry, repository: ref.repository, reason: "registry reports manifest digest \(header), sent \(digest)")
        }
        return digest
    }

    /// All tags of the repository, following `Link: <…>; rel="next"` pages (same origin only).
    public func listTags(_ ref: ImageReference, pageSize: Int? = nil) throws(DistributionError) -> [String] {
        let session = try makeSession()
        var url = baseURL(ref) + "/tags/list" + (pageSize.map { "?n=\($0)" } ?? "")
        let origin = URLs.origin(of: url)
        var tags: [String] = []
        for _ in 0..<10_000 {
            var req = request(.get, ref, path: "", operation: "list tags")
            req.url = url
            let response = try session.send(req, into: BufferTarget(limit: 16 << 20))
            try expect(response, [200], req, notFound: "repository")
            struct Page: Decodable { var tags: [String]? }
            guard let page = try? JSONDecoder().decode(Page.self, from: Data(response.body)) else {
                throw .invalidResponse(registry: ref.registry, repository: ref.repository, reason: "tag list is not JSON")
            }
            tags += page.tags ?? []
            guard let link = URLs.nextLink(response.header("Link")), let next = URLs.resolve(link, against: url) else { return tags }
            guard URLs.origin(of: next) == origin else {
                throw .invalidResponse(registry: ref.registry, repository: ref.repository, reason: "tag list page link points to another host")
            }
            url = next
        }
        throw .invalidResponse(registry: ref.registry, repository: ref.repository, reason: "tag list has too many pages")
    }

    /// DELETEs a manifest by digest (or tag, where the registry allows it). GHCR and Docker
    /// Hub answer 405: use their web APIs instead.
    public func deleteManifest(_ ref: ImageReference) throws(DistributionError) {
        let session = try makeSession()
        let req = request(.delete, ref, path: "/manifests/" + ref.manifestReference, operation: "DELETE manifest \(ref.manifestReference)",
                          actions: ["pull", "push", "delete"])
        let response = try session.send(req, into: BufferTarget(limit: 64 << 10))
        try expect(response, [200, 202, 204], req, notFound: "manifest \(ref.manifestReference)")
    }
}
