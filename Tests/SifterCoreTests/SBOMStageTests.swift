import ArchiveIO
import Foundation
import Hashing
import OCISpec
import Rootfs
import SBOM
import SIF
import Testing
@testable import SifterCore

/// The build's SBOM stage: databases collected from the stream into the sink (whiteouts
/// applied), the SIF object it makes, the options that record it, and reading it back.
@Suite struct SBOMStageTests {
    let scratch: String

    init() throws {
        scratch = NSTemporaryDirectory() + "sbom-stage-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    func layer(_ name: String, _ files: [(String, String)]) throws -> ResolvedImage.Layer {
        let path = scratch + "/" + name + ".tar"
        let writer = try ArchiveWriter(path: path)
        for (member, content) in files {
            let entry = try ArchiveEntry()
            entry.pathname = member
            entry.fileType = .regular
            entry.permissions = 0o644
            entry.mtime = ArchiveTimestamp(seconds: 1)
            entry.size = Int64(content.utf8.count)
            try writer.writeHeader(entry)
            if !content.isEmpty { try writer.writeData(Array(content.utf8)) }
        }
        try writer.finish()
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let digest = try Digest(sha256Hex: SHA256.hash(bytes).hex)
        return ResolvedImage.Layer(descriptor: Descriptor(mediaType: MediaType.ociLayer, digest: digest, size: Int64(bytes.count)),
                                   diffID: digest, path: path)
    }

    func image(_ layers: [ResolvedImage.Layer]) throws -> ResolvedImage {
        let diffIDs = layers.compactMap(\.diffID).map { #""\#($0)""# }.joined(separator: ",")
        let json = #"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[\#(diffIDs)]}}"#
        let digest = try Digest(sha256Hex: String(repeating: "cd", count: 32))
        return ResolvedImage(
            sourceText: "docker://127.0.0.1:5000/test/sbom:1", reference: "127.0.0.1:5000/test/sbom:1", bootstrap: "docker",
            registry: "127.0.0.1:5000", repository: "test/sbom", indexDigest: nil, manifestDigest: digest,
            manifest: Manifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: digest, size: 1), layers: layers.map(\.descriptor)),
            configDigest: digest, configBytes: Array(json.utf8), config: try ImageConfig.decode(Array(json.utf8)), layers: layers)
    }

    @Test func collectsFromTheStreamIntoAnSBOMObject() throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let lower = try layer("lower", [
            ("var/lib/dpkg/status.d/bash", "Package: bash\nVersion: 5.2.15-2+b7\nArchitecture: amd64\n"),
            ("var/lib/dpkg/status.d/gone", "Package: gone\nVersion: 1\nArchitecture: all\n"),
            ("etc/os-release", "ID=debian\nVERSION_ID=12\n"),
        ])
        let upper = try layer("upper", [("var/lib/dpkg/status.d/.wh.gone", "")])
        let image = try image([lower, upper])
        let fd = open(scratch + "/out.tar", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        let stage = SBOMStage(format: .cyclonedx, source: image.sourceText)
        _ = try FlattenStage.stream(image: image, metadata: try BuildMetadata(image: image, time: 1_717_200_000),
                                    into: DescriptorSink(descriptor: fd), workers: 1, observer: stage.observer)
        let made = try stage.object(image: image, time: 1_717_200_000)
        #expect(made.packages == 1 && made.warnings.isEmpty)
        #expect(made.object.dataType == .sbom && made.object.name == "sbom.cdx.json")
        #expect(made.object.metadata == .sbom(format: .cycloneDXJSON))
        guard case let .bytes(bytes) = made.object.source else { Issue.record("not in memory"); return }
        let document = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let components = try #require(document["components"] as? [[String: Any]])
        #expect(components.map { $0["purl"] as? String } == ["pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12"])
        #expect((document["metadata"] as? [String: Any])?["timestamp"] as? String == "2024-06-01T00:00:00Z")
        #expect(document["serialNumber"] as? String == "urn:uuid:" + SBOMStage.uuidText(
            try BuildMetadata.deterministicID(manifest: image.manifestDigest, options: "sbom cyclonedx \(image.sourceText) 1717200000")))
    }

    @Test func optionsRecordTheFormat() throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var options = BuildOptions()
        options.platform = try Platform(parsing: "linux/amd64")
        #expect(options.fingerprint == "platform=linux/amd64 comp=gzip block=default sbom=spdx")
        options.sbomFormat = nil
        // Without an SBOM, the text SIFs built before SBOMs existed have: their IDs stay.
        #expect(options.fingerprint == "platform=linux/amd64 comp=gzip block=default")
        let recorded = { (sbom: String) throws -> RecordedProvenance in
            let json = #"{"source":"oci:x","reference":"x","manifestDigest":"sha256:\#(String(repeating: "a", count: 64))","#
                + #""platform":"linux/amd64","configDigest":"sha256:\#(String(repeating: "b", count: 64))","buildOptions":"","#
                + #""sifterVersion":"0.1.0","mksquashfsVersion":"4.5.1","build":{"platform":"linux/amd64","compression":"gzip","time":0\#(sbom)}}"#
            return try JSONDecoder().decode(RecordedProvenance.self, from: Data(json.utf8))
        }
        #expect(try recorded(#","sbom":"cyclonedx""#).buildOptions(mksquashfs: "m")?.sbomFormat == .cyclonedx)
        #expect(try recorded(#","sbom":"none""#).buildOptions(mksquashfs: "m")?.sbomFormat == nil)
        #expect(try recorded("").buildOptions(mksquashfs: "m")?.sbomFormat == nil, "built before SBOMs: none")
    }

    @Test func extractorAndInspectFindTheObject() throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let path = scratch + "/two.sif"
        var options = CreateOptions()
        options.deterministic = true
        let image = try SIFImage.create(path: path, options: options, objects: [
            try ObjectInput(.sbom, source: .bytes(Array("{\"spdx\":1}".utf8)), name: "sbom.spdx.json", metadata: .sbom(format: .spdxJSON)),
            try ObjectInput(.sbom, source: .bytes(Array("{\"cdx\":1}".utf8)), name: "sbom.cdx.json", metadata: .sbom(format: .cycloneDXJSON)),
        ])
        defer { try? image.close() }
        #expect(try SBOMExtractor.find(in: image, format: "cyclonedx").id == 2)
        #expect(try SBOMExtractor.find(in: image, format: "spdx-json").id == 1)
        #expect(throws: SifterError.self) { try SBOMExtractor.find(in: image, format: nil) }
        #expect(throws: SifterError.self) { try SBOMExtractor.find(in: image, format: "yaml") }
        #expect(throws: SBOMError.missing(file: path, detail: "no syft-json SBOM object (it has object 1: spdx-json, object 2: cyclonedx-json)")) {
            try SBOMExtractor.find(in: image, format: "syft-json")
        }
        let text = try InspectReport(image: image).renderText()
        #expect(text.contains("SBOM:        spdx-json (object 1 \"sbom.spdx.json\", 10 bytes); cyclonedx-json (object 2 \"sbom.cdx.json\", 9 bytes)\n"))
    }
}
