import Distribution
import Foundation
import OCISpec

/// `sifter prune oras://REG/REPO`: lists the repository's tags (following `Link` pages),
/// reads each one's manifest for its digest and created time, decides with a
/// `RetentionPolicy`, and deletes by digest through the distribution API.
public struct TagPruner: Sendable {
    public let client: RegistryClient
    public let repository: ImageReference
    public let policy: RetentionPolicy
    /// Tags per page of the tag list (`n`), nil for the registry's default.
    public let pageSize: Int?

    public init(client: RegistryClient, repository: ImageReference, policy: RetentionPolicy, pageSize: Int? = nil) {
        self.client = client
        self.repository = repository
        self.policy = policy
        self.pageSize = pageSize
    }

    /// Reads every tag and decides; changes nothing.
    public func plan(now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> PrunePlan {
        let tags = try client.listTags(repository, pageSize: pageSize)
        var records: [TagRecord] = []
        for tag in tags {
            // A tag deleted since the list was made is skipped.
            guard let fetched = try fetchIfPresent(try repository.tagged(tag)) else { continue }
            records.append(try record(tag, fetched))
        }
        return PrunePlan.decide(records, policy: policy, now: now)
    }

    /// Deletes `plan.digests` in order; `deleted` is told of each one. A registry that refuses
    /// deletes stops the run at the first one with an error that says where deletes are made.
    public func execute(_ plan: PrunePlan, deleted: (Digest) -> Void = { _ in }) throws {
        for digest in plan.digests {
            do {
                try client.deleteManifest(repository.pinned(to: digest))
            } catch .notFound {
                // Gone already (another prune, or the registry removed it with its index).
            } catch {
                throw Self.explain(error, registry: repository.registry, repository: repository.repository)
            }
            deleted(digest)
        }
    }

    private func fetchIfPresent(_ reference: ImageReference) throws -> FetchedManifest? {
        do {
            return try client.fetchManifest(reference)
        } catch .notFound {
            return nil
        }
    }

    private func record(_ tag: String, _ fetched: FetchedManifest) throws -> TagRecord {
        if fetched.isIndex {
            let index = try? Index.decode(fetched.bytes)
            let children = index?.manifests.map(\.digest) ?? []
            var created = index?.annotations?[SIFArtifact.Key.created].flatMap(RFC3339.parse)
            if created == nil, let first = index?.manifests.first(where: { !$0.isAttestation && MediaType.manifestTypes.contains($0.mediaType) }) {
                created = try self.created(ofManifest: try client.fetchManifest(repository.pinned(to: first.digest)))
            }
            return TagRecord(tag: tag, digest: fetched.digest, mediaType: fetched.mediaType, created: created, children: children)
        }
        return TagRecord(tag: tag, digest: fetched.digest, mediaType: fetched.mediaType, created: try created(ofManifest: fetched), children: [])
    }

    /// The manifest's `org.opencontainers.image.created`, else its image config's `created`.
    private func created(ofManifest fetched: FetchedManifest) throws -> Int64? {
        guard let manifest = try? Manifest.decode(fetched.bytes) else { return nil }
        if let text = manifest.annotations?[SIFArtifact.Key.created], let time = RFC3339.parse(text) { return time }
        guard manifest.isContainerImage else { return nil }
        let config = try client.fetchBlobBytes(repository, manifest.config, limit: 4 << 20)
        return (try? ImageConfig.decode(config))?.created.flatMap(RFC3339.parse)
    }

    /// A refused DELETE, with where that registry deletes instead.
    static func explain(_ error: any Error, registry: String, repository: String) -> any Error {
        guard case let DistributionError.unexpectedStatus(_, _, _, status, errors) = error,
            status == 405 || errors.contains(where: { $0.code == "UNSUPPORTED" })
        else {
            if registry == "ghcr.io", case DistributionError.denied = error {
                return PruneError.deletesRefused(registry: registry, repository: repository, answer: "\(error)")
            }
            return error
        }
        let answer = "HTTP \(status)" + (errors.isEmpty ? "" : " " + errors.map(\.description).joined(separator: "; "))
        return PruneError.deletesRefused(registry: registry, repository: repository, answer: answer)
    }
}

public enum PruneError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The registry does not delete manifests through the distribution API.
    case deletesRefused(registry: String, repository: String, answer: String)
    /// No policy given: nothing would be selected.
    case noPolicy

    public var description: String {
        switch self {
        case let .deletesRefused(registry, repository, answer):
            return "\(registry)/\(repository): the registry refuses to delete manifests (\(answer)); " + Self.whereToDelete(registry)
        case .noPolicy:
            return "say what to delete: --keep N, --older-than DURATION (with --match GLOB to limit it to some tags)"
        }
    }

    static func whereToDelete(_ registry: String) -> String {
        switch registry {
        case "ghcr.io":
            "GHCR deletes package versions only through GitHub's REST API (DELETE /orgs/ORG/packages/container/NAME/versions/ID "
                + "or /user/packages/…, a token with delete:packages); in a workflow use dataaxiom/ghcr-cleanup-action or "
                + "actions/delete-package-versions"
        case "docker.io":
            "Docker Hub deletes tags through its own web API (hub.docker.com), not the registry API"
        default:
            "CNCF distribution deletes only when configured with storage.delete.enabled: true "
                + "(REGISTRY_STORAGE_DELETE_ENABLED=true), and frees the space at its next `registry garbage-collect`"
        }
    }
}
