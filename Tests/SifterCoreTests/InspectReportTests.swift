import Foundation
import SIF
import Testing
@testable import SifterCore

@Suite struct InspectReportTests {
    func scratchFile(_ name: String) -> String {
        NSTemporaryDirectory() + "sifter-core-\(UUID().uuidString)-\(name)"
    }

    @Test func jsonHasTheDocumentedShapeAndDigests() throws {
        let path = scratchFile("report.sif")
        defer { unlink(path) }
        var options = CreateOptions()
        options.deterministic = true
        let image = try SIFImage.create(path: path, options: options, objects: [
            try ObjectInput(.deffile, source: .bytes(Array("bootstrap: docker\n".utf8))),
            try ObjectInput(.genericJSON, source: .bytes(Array("{}".utf8)), name: "oci-config.json"),
            try ObjectInput(.partition, source: .bytes([1, 2, 3]), metadata: .partition(fs: .squash, part: .primarySystem, arch: Arch(goName: "arm64")!)),
            try ObjectInput(.signature, source: .bytes([9]), group: nil, link: .group(1), metadata: .signature(hash: .sha256, entity: Array(repeating: 0xAB, count: 20))),
        ])
        let report = try InspectReport(image: image)
        try image.close()
        let json = report.json.rendered(indent: 0)
        let decoded = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let header = decoded?["header"] as? [String: Any]
        #expect(header?["arch"] as? String == "arm64")
        #expect(header?["createdAt"] as? Int == -62_135_596_800)
        #expect(header?["descriptorsFree"] as? Int == 44)
        #expect(header?["id"] as? String == "00000000-0000-0000-0000-000000000000")
        let descriptors = decoded?["descriptors"] as? [[String: Any]] ?? []
        #expect(descriptors.count == 4)
        #expect(descriptors.map { $0["type"] as? String } == ["deffile", "genericJSON", "partition", "signature"])
        #expect(descriptors[0]["sha256"] as? String == sha256Hex("bootstrap: docker\n"))
        #expect(descriptors[0]["group"] as? Int == 1)
        #expect(descriptors[0]["link"] is NSNull)
        #expect(descriptors[3]["group"] is NSNull)
        #expect(descriptors[3]["link"] as? Int == 1)
        #expect(descriptors[3]["linkIsGroup"] as? Bool == true)
        let partition = descriptors[2]["partition"] as? [String: Any]
        #expect(partition?["fsType"] as? String == "squashfs")
        #expect(partition?["partType"] as? String == "primSys")
        #expect(partition?["primary"] as? Bool == true)
        #expect(descriptors[2]["offset"] as? Int == 32768)
        #expect((descriptors[3]["signature"] as? [String: Any])?["entity"] as? String == String(repeating: "ab", count: 20))
        // Key order is part of the documented shape.
        #expect(json.hasPrefix("{\"header\":{\"launchScript\":\"\",\"version\":\"01\",\"id\":"))
        let text = report.renderText()
        #expect(text.contains("1    |1       |NONE    |32176-32194               |Def.FILE"))
        #expect(text.contains("4    |NONE    |1   (G) |"))
        #expect(text.contains("Definition file (object 1):\n  bootstrap: docker"))
    }

    @Test func unixTimesFormatLikeRFC3339() {
        #expect(UnixTime.iso8601(0) == "1970-01-01T00:00:00Z")
        #expect(UnixTime.iso8601(1_593_475_316) == "2020-06-30T00:01:56Z")
        #expect(UnixTime.iso8601(Layout.deterministicTime) == "0001-01-01T00:00:00Z")
        #expect(UnixTime.iso8601(-1) == "1969-12-31T23:59:59Z")
    }

    @Test func jsonEscapesControlCharacters() {
        #expect(JSONValue.string("a\"b\\c\n\u{1}").rendered() == "\"a\\\"b\\\\c\\n\\u0001\"")
    }

    @Test func objectSpecChecksNames() throws {
        var spec = ObjectSpec(type: "partition", file: "/dev/null")
        #expect(throws: SifterError.self) { try spec.objectInput() }  // no arch
        spec.arch = "amd64"
        spec.part = "primary"
        #expect(throws: SifterError.self) { try spec.objectInput() }
        spec.part = "primSys"
        let input = try spec.objectInput()
        #expect(input.metadata == .partition(fs: .squash, part: .primarySystem, arch: Arch(goName: "amd64")!))
        #expect(throws: SifterError.self) { try ObjectSpec(type: "nonsense", file: "/dev/null").objectInput() }
        var signature = ObjectSpec(type: "signature", file: "/dev/null")
        signature.entity = "zz"
        #expect(throws: SifterError.self) { try signature.objectInput() }
        signature.entity = "0a0b"
        signature.group = 0
        signature.linkGroup = 1
        let signed = try signature.objectInput()
        #expect(signed.group == nil)
        #expect(signed.link == .group(1))
    }

    @Test func atomicOutputLeavesNothingOnFailure() throws {
        let destination = scratchFile("atomic.sif")
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try AtomicOutput(destination: destination, replace: false).write { path in
                _ = FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3]))
                throw Boom()
            }
        }
        #expect(!FileManager.default.fileExists(atPath: destination))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.contains("atomic.sif.sifter-") }
        #expect(leftovers.isEmpty)
        try AtomicOutput(destination: destination, replace: false).write { path in
            _ = FileManager.default.createFile(atPath: path, contents: Data([4]))
        }
        defer { unlink(destination) }
        #expect(FileManager.default.contents(atPath: destination) == Data([4]))
        #expect(throws: SifterError.outputExists(destination)) { try AtomicOutput(destination: destination, replace: false) }
    }
}

/// Independent digest for the expectations: the system's sha256sum.
func sha256Hex(_ text: String) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    do { try process.run() } catch { return nil }
    input.fileHandleForWriting.write(Data(text.utf8))
    try? input.fileHandleForWriting.close()
    process.waitUntilExit()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init)
}
