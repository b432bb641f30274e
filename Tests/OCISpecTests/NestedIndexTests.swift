import OCISpec
import Testing

struct NestedIndexTests {
    static let amd64 = Platform(os: "linux", architecture: "amd64")
    static let arm64 = Platform(os: "linux", architecture: "arm64")

    static func digest(_ n: Int) throws -> Digest { try Digest(sha256Hex: String(repeating: String(n % 10), count: 64)) }

    static func manifest(_ n: Int, _ platform: Platform?) throws -> Descriptor {
        Descriptor(mediaType: MediaType.ociManifest, digest: try digest(n), size: 10, platform: platform)
    }

    static func index(_ n: Int, _ platform: Platform?) throws -> Descriptor {
        Descriptor(mediaType: MediaType.ociIndex, digest: try digest(n), size: 10, platform: platform)
    }

    /// A fetch over a fixed set of nested indexes, recording what it was asked for.
    final class Store: @unchecked Sendable {
        var indexes: [Digest: Index] = [:]
        var fetched: [Digest] = []

        func fetch(_ descriptor: Descriptor) throws -> Index {
            fetched.append(descriptor.digest)
            guard let index = indexes[descriptor.digest] else { throw OCISpecError.invalidDocument(what: "test", reason: "unknown") }
            return index
        }
    }

    @Test func followsAnIndexOfIndexes() throws {
        let store = Store()
        store.indexes[try Self.digest(2)] = Index(manifests: [try Self.manifest(5, Self.amd64), try Self.manifest(6, Self.arm64)])
        store.indexes[try Self.digest(1)] = Index(manifests: [try Self.index(2, nil)])
        let top = Index(manifests: [try Self.index(3, Self.arm64), try Self.index(1, Self.amd64)])
        let selection = try top.selectManifest(for: Self.amd64, fetch: store.fetch)
        #expect(selection.manifest.digest == (try Self.digest(5)))
        #expect(selection.nested.map(\.digest) == [try Self.digest(1), try Self.digest(2)])
        // The arm64 index is not fetched when amd64 is wanted.
        #expect(store.fetched == [try Self.digest(1), try Self.digest(2)])
    }

    @Test func aManifestInTheIndexItselfWinsWithoutFetching() throws {
        let store = Store()
        let top = Index(manifests: [try Self.index(1, Self.amd64), try Self.manifest(4, Self.amd64)])
        #expect(try top.selectManifest(for: Self.amd64, fetch: store.fetch).manifest.digest == (try Self.digest(4)))
        #expect(store.fetched.isEmpty)
    }

    @Test func refusesIndexesNestedTooDeep() throws {
        let store = Store()
        store.indexes[try Self.digest(1)] = Index(manifests: [try Self.index(2, nil)])
        store.indexes[try Self.digest(2)] = Index(manifests: [try Self.index(3, nil)])
        store.indexes[try Self.digest(3)] = Index(manifests: [try Self.manifest(5, Self.amd64)])
        let top = Index(manifests: [try Self.index(1, nil)])
        #expect(throws: OCISpecError.nestedIndexTooDeep(chain: [try Self.digest(1).short, try Self.digest(2).short, try Self.digest(3).short], limit: 2)) {
            try top.selectManifest(for: Self.amd64, fetch: store.fetch)
        }
        #expect(store.fetched.count == 2)
    }

    @Test func refusesAnIndexThatListsItself() throws {
        let store = Store()
        store.indexes[try Self.digest(1)] = Index(manifests: [try Self.index(1, Self.amd64)])
        let top = Index(manifests: [try Self.index(1, Self.amd64)])
        #expect(throws: OCISpecError.nestedIndexCycle(try Self.digest(1).description)) {
            try top.selectManifest(for: Self.amd64, fetch: store.fetch)
        }
        // The top index's own digest counts too.
        let own = Index(manifests: [try Self.index(7, nil)])
        #expect(throws: OCISpecError.nestedIndexCycle(try Self.digest(7).description)) {
            try own.selectManifest(for: Self.amd64, digest: try Self.digest(7), fetch: store.fetch)
        }
    }

    @Test func namesNestedIndexesInTheAvailablePlatforms() throws {
        let store = Store()
        store.indexes[try Self.digest(1)] = Index(manifests: [try Self.manifest(5, Self.arm64)])
        let top = Index(manifests: [try Self.index(1, nil), try Self.index(2, Self.arm64), try Self.manifest(6, Platform(os: "linux", architecture: "s390x"))])
        do {
            _ = try top.selectManifest(for: Self.amd64, fetch: store.fetch)
            Issue.record("selected a manifest for a platform the index lacks")
        } catch let error as OCISpecError {
            guard case let .noMatchingPlatform(wanted, available) = error else { throw error }
            #expect(wanted == "linux/amd64")
            #expect(available == [
                "linux/s390x",
                "linux/arm64 (in nested index \(try Self.digest(1).short))",
                "linux/arm64 (nested index \(try Self.digest(2).short))",
            ])
            #expect(error.description.contains("nested index"))
        }
    }

    @Test func aHelmChartOrASIFIsNotAnImage() throws {
        let config = { (type: String) throws in Descriptor(mediaType: type, digest: try Self.digest(1), size: 2) }
        let helm = Manifest(config: try config("application/vnd.cncf.helm.config.v1+json"), layers: [])
        let sif = Manifest(config: try config(MediaType.sifConfig), layers: [])
        let image = Manifest(config: try config(MediaType.ociConfig), layers: [])
        let docker = Manifest(mediaType: MediaType.dockerManifest, config: try config(MediaType.dockerConfig), layers: [])
        #expect(!helm.isContainerImage && !sif.isContainerImage && image.isContainerImage && docker.isContainerImage)
        #expect(throws: OCISpecError.notAContainerImage(configMediaType: "application/vnd.cncf.helm.config.v1+json", artifactType: nil)) {
            try helm.requireContainerImage()
        }
        do {
            try sif.requireContainerImage()
            Issue.record("a SIF artifact passed as an image")
        } catch {
            #expect(error.description.contains(MediaType.sifConfig))
            #expect(error.description.contains("sifter pull"))
        }
        var artifact = Manifest(config: try config("application/vnd.oci.empty.v1+json"), layers: [])
        artifact.artifactType = "application/vnd.example+type"
        do {
            try artifact.requireContainerImage()
            Issue.record("an OCI 1.1 artifact passed as an image")
        } catch {
            #expect(error.description.contains("application/vnd.example+type"))
        }
    }
}
