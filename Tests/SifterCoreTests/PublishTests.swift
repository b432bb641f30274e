import Foundation
import OCISpec
import SIF
import Testing
@testable import SifterCore

@Suite struct SemverTagTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let version: String
        let tags: [String]?
        var testDescription: String { version.isEmpty ? "(empty)" : version }
    }

    static let cases: [Case] = [
        Case(version: "v1.2.3", tags: ["1.2.3", "1.2", "1", "latest"]),
        Case(version: "1.2.3", tags: ["1.2.3", "1.2", "1", "latest"]),
        Case(version: "v10.20.30", tags: ["10.20.30", "10.20", "10", "latest"]),
        Case(version: "v2.0.0", tags: ["2.0.0", "2.0", "2", "latest"]),
        // Major zero: no `0` tag, which every 0.x release would fight over.
        Case(version: "v0.4.1", tags: ["0.4.1", "0.4", "latest"]),
        Case(version: "v0.0.1", tags: ["0.0.1", "0.0", "latest"]),
        // Build metadata is dropped (`+` is not allowed in a tag), as node-semver's `version` does.
        Case(version: "v1.2.3+build.5", tags: ["1.2.3", "1.2", "1", "latest"]),
        Case(version: "v1.2.3+20240102.sha.0abc", tags: ["1.2.3", "1.2", "1", "latest"]),
        // Pre-releases: only the full version, never the floating tags or latest.
        Case(version: "v2.0.8-beta.67", tags: ["2.0.8-beta.67"]),
        Case(version: "v1.2.3-rc.1+build.7", tags: ["1.2.3-rc.1"]),
        Case(version: "v0.1.0-alpha", tags: ["0.1.0-alpha"]),
        Case(version: "v1.0.0-x-y-z.--", tags: ["1.0.0-x-y-z.--"]),
        Case(version: "v1.0.0-0A.is.legal", tags: ["1.0.0-0A.is.legal"]),
        // Invalid: an error, never a guess.
        Case(version: "", tags: nil),
        Case(version: "v", tags: nil),
        Case(version: "latest", tags: nil),
        Case(version: "v1.2", tags: nil),
        Case(version: "v1.2.3.4", tags: nil),
        Case(version: "v01.2.3", tags: nil),
        Case(version: "v1.02.3", tags: nil),
        Case(version: "v1.2.x", tags: nil),
        Case(version: "V1.2.3", tags: nil),
        Case(version: "vv1.2.3", tags: nil),
        Case(version: " v1.2.3", tags: nil),
        Case(version: "v1.2.3-", tags: nil),
        Case(version: "v1.2.3-01", tags: nil),
        Case(version: "v1.2.3-rc..1", tags: nil),
        Case(version: "v1.2.3-rc_1", tags: nil),
        Case(version: "v1.2.3+", tags: nil),
        Case(version: "v1.2.3+bad!", tags: nil),
        Case(version: "v-1.2.3", tags: nil),
    ]

    @Test(arguments: cases) func expansion(_ testCase: Case) throws {
        if let tags = testCase.tags {
            #expect(try SemverTags.expand(testCase.version) == tags)
        } else {
            #expect(throws: PublishError.self) { try SemverTags.expand(testCase.version) }
        }
    }

    @Test func tagsOfADestination() throws {
        #expect(try PushTarget(parsing: "oras://reg.example:5000/a/b").tags == ["latest"])
        #expect(try PushTarget(parsing: "oras://reg.example:5000/a/b", tags: ["x"]).tags == ["x"])
        let target = try PushTarget(parsing: "oras://reg.example:5000/a/b:ci", tags: ["x", "ci", "1.2"], semver: "v1.2.3")
        #expect(target.tags == ["ci", "x", "1.2", "1.2.3", "1", "latest"])
        #expect(target.repository.name == "reg.example:5000/a/b")
        #expect(throws: PublishError.self) { try PushTarget(parsing: "docker://reg.example/a/b:1") }
        #expect(throws: PublishError.self) { try PushTarget(parsing: "oras://reg.example/a/b", tags: ["-bad"]) }
        #expect(throws: PublishError.self) { try PushTarget(parsing: "oras://reg.example/a/b", tags: [String(repeating: "a", count: 129)]) }
        #expect(throws: PublishError.self) { try PushTarget(parsing: "oras://reg.example/a/b", semver: "1.2") }
        #expect(throws: PublishError.self) {
            try PushTarget(parsing: "oras://reg.example/a/b@sha256:" + String(repeating: "0", count: 64))
        }
    }
}

@Suite struct ORASManifestTests {
    func scratch(_ name: String) -> String { NSTemporaryDirectory() + "sifter-publish-\(UUID().uuidString)-\(name)" }

    static let inspect = #"{"data":{"attributes":{"labels":{"org.opencontainers.image.created":"2024-01-02T03:04:05Z","org.opencontainers.image.source":"https://github.com/example/app"}}},"type":"container"}"#
    static let provenance = #"{"source":"docker://example.org/app:1","reference":"example.org/app:1","manifestDigest":"sha256:"#
        + String(repeating: "a", count: 64) + #"","buildOptions":"platform=linux/amd64 comp=gzip block=default","sifterVersion":"0.1.0"}"#

    func makeSIF(_ path: String, json: [(String, String)], part: PartType = .primarySystem, time: Int64? = nil) throws {
        var options = CreateOptions()
        options.deterministic = time == nil
        options.time = time
        var objects = [try ObjectInput(.deffile, source: .bytes(Array("bootstrap: docker\nfrom: example.org/app:1\n".utf8)))]
        for (name, text) in json { objects.append(try ObjectInput(.genericJSON, source: .bytes(Array(text.utf8)), name: name)) }
        let amd64 = try #require(Arch(goName: "amd64"))
        objects.append(try ObjectInput(.partition, source: .bytes(Array(repeating: 7, count: 5000)), metadata: .partition(fs: .squash, part: part, arch: amd64)))
        try SIFImage.create(path: path, options: options, objects: objects).close()
    }

    /// The manifest for a fixed SIF, byte for byte: Apptainer's member order, the `{}`
    /// config inlined, the title, the created time from the SIF's label, the provenance.
    @Test func goldenManifest() throws {
        let path = scratch("app.sif")
        defer { unlink(path) }
        try makeSIF(path, json: [("inspect-metadata.json", Self.inspect), ("sifter-provenance.json", Self.provenance)])
        let artifact = try SIFArtifact(path: path, title: "app.sif")
        let expected = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.sylabs.sif.config.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","data":"e30="},"layers":[{"mediaType":"application/vnd.sylabs.sif.layer.v1.sif","size":LAYERSIZE,"digest":"LAYERDIGEST","annotations":{"org.opencontainers.image.title":"app.sif"}}],"annotations":{"org.opencontainers.image.base.digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","org.opencontainers.image.base.name":"example.org/app:1","org.opencontainers.image.created":"2024-01-02T03:04:05Z","org.opencontainers.image.source":"https://github.com/example/app","org.sylabs.sifter.build-options":"platform=linux/amd64 comp=gzip block=default","org.sylabs.sifter.source.digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","org.sylabs.sifter.version":"0.1.0"}}"#
            .replacingOccurrences(of: "LAYERSIZE", with: "37768")
            .replacingOccurrences(of: "LAYERDIGEST", with: "sha256:b21c0cb1cb672fb9535d19cdf09c8d849aeed3829f7f70dbae7e4d0ee62a6438")
        let manifest = String(decoding: artifact.manifest(), as: UTF8.self)
        #expect(manifest == expected)
        #expect(artifact.arch == "amd64")
        // The same file gives the same bytes (no clock anywhere).
        #expect(try SIFArtifact(path: path, title: "app.sif").manifest() == artifact.manifest())
        // The config digest constant is the sha256 of `{}`.
        #expect(SIFArtifact.configDigest == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        let decoded = try Manifest.decode(artifact.manifest())
        #expect(decoded.config.data == "e30=")
        #expect(decoded.layers.count == 1)
        // User annotations win over derived ones.
        let overridden = try Manifest.decode(artifact.manifest(extra: [SIFArtifact.Key.source: "https://example.org/other"]))
        #expect(overridden.annotations?[SIFArtifact.Key.source] == "https://example.org/other")
    }

    /// Without inspect metadata the created time is the SIF header's, not the clock's.
    @Test func createdFallsBackToTheHeader() throws {
        let path = scratch("bare.sif")
        defer { unlink(path) }
        try makeSIF(path, json: [], time: 1_700_000_000)
        let artifact = try SIFArtifact(path: path)
        #expect(artifact.annotations == [SIFArtifact.Key.created: "2023-11-14T22:13:20Z"])
        #expect(artifact.title.hasSuffix("bare.sif"))
    }

    @Test func refusesWhatApptainerRefuses() throws {
        let noPrimary = scratch("data.sif")
        let unknownArch = scratch("unknown.sif")
        let notSIF = scratch("text.sif")
        defer { for path in [noPrimary, unknownArch, notSIF] { unlink(path) } }
        try makeSIF(noPrimary, json: [], part: .data)
        // The library will not write an unknown-arch partition; patch the header's arch
        // (3 bytes at 45) to "00", the code of "unknown", as a foreign file might have it.
        try makeSIF(unknownArch, json: [])
        let handle = try #require(FileHandle(forUpdatingAtPath: unknownArch))
        try handle.seek(toOffset: 45)
        try handle.write(contentsOf: Data([0x30, 0x30, 0]))
        try handle.close()
        #expect(try SIFImage.load(path: unknownArch).header.arch == .unknown)
        try Data("not a sif at all, just text that is long enough to have a header\n".utf8).write(to: URL(fileURLWithPath: notSIF))
        #expect(throws: PublishError.self) { try SIFArtifact(path: noPrimary) }
        #expect(throws: PublishError.self) { try SIFArtifact(path: unknownArch) }
        #expect(throws: SIFError.self) { try SIFArtifact(path: notSIF) }
    }

    @Test func pullAcceptsOnlyOneSIFLayer() throws {
        let digest = try Digest(sha256Hex: String(repeating: "b", count: 64))
        let config = OCISpec.Descriptor(mediaType: SIFArtifact.configMediaType, digest: digest, size: 2)
        func manifest(_ types: [String]) -> Manifest {
            Manifest(config: config, layers: types.map { OCISpec.Descriptor(mediaType: $0, digest: digest, size: 10) })
        }
        #expect(try Puller.sifLayer(of: manifest([SIFArtifact.layerMediaType]), reference: "r").size == 10)
        #expect(try Puller.sifLayer(of: manifest(["appliciation/vnd.sylabs.sif.layer.tar"]), reference: "r").size == 10)
        #expect(throws: PublishError.self) { try Puller.sifLayer(of: manifest([]), reference: "r") }
        #expect(throws: PublishError.self) { try Puller.sifLayer(of: manifest([SIFArtifact.layerMediaType, SIFArtifact.layerMediaType]), reference: "r") }
        #expect(throws: PublishError.self) { try Puller.sifLayer(of: manifest([MediaType.ociLayerGzip]), reference: "r") }
    }
}

@Suite struct PublishOutputTests {
    func result() throws -> PushResult {
        var result = PushResult(
            repository: try ImageReference.parse("oras://quay.io/org/app:1.2.3"), tags: ["1.2.3", "1.2", "latest"],
            manifestDigest: try Digest(sha256Hex: String(repeating: "c", count: 64)), manifestBytes: [],
            layerDigest: try Digest(sha256Hex: String(repeating: "d", count: 64)), layerSize: 1234, layer: .uploaded, config: .existed)
        result.seconds = 1.5
        return result
    }

    @Test func gitHubOutputs() throws {
        let text = PublishReport.outputs(try result(), delimiter: "ghadelimiter_X")
        #expect(text == """
            digest=sha256:\(String(repeating: "c", count: 64))
            ref=quay.io/org/app@sha256:\(String(repeating: "c", count: 64))
            tags<<ghadelimiter_X
            quay.io/org/app:1.2.3
            quay.io/org/app:1.2
            quay.io/org/app:latest
            ghadelimiter_X

            """)
        let summary = PublishReport.summary(try result())
        #expect(summary.contains("apptainer pull oras://quay.io/org/app@sha256:\(String(repeating: "c", count: 64))"))
        #expect(summary.contains("apptainer pull oras://quay.io/org/app:1.2\n"))
    }

    @Test func filesAreAppendedToWhenSet() throws {
        let directory = NSTemporaryDirectory() + "sifter-gha-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("earlier=1\n".utf8).write(to: URL(fileURLWithPath: directory + "/out"))
        try PublishReport.writeGitHub(try result(), environment: ["GITHUB_OUTPUT": directory + "/out", "GITHUB_STEP_SUMMARY": directory + "/sum"])
        let out = try String(contentsOfFile: directory + "/out", encoding: .utf8)
        #expect(out.hasPrefix("earlier=1\ndigest=sha256:"))
        #expect(FileManager.default.fileExists(atPath: directory + "/sum"))
        try PublishReport.writeGitHub(try result(), environment: [:])
        try PublishReport.writeDigest(try result(), to: directory + "/digest")
        #expect(try String(contentsOfFile: directory + "/digest", encoding: .utf8) == "sha256:\(String(repeating: "c", count: 64))\n")
    }
}
