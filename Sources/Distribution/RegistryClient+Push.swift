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
