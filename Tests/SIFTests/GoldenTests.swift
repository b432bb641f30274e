import Testing
@testable import SIF

/// Writes each unsigned golden image of the reference implementation from the same inputs, in
/// deterministic mode, and requires a byte-identical file (inputs per Fixtures/README.md).
@Suite struct GoldenWriteTests {
    static func genericJSON() throws -> ObjectInput {
        try ObjectInput(.genericJSON, source: .bytes([0x7B, 0x7D]), name: "data.json")
    }
    static func cryptoMessage() throws -> ObjectInput {
        try ObjectInput(.cryptoMessage, source: .bytes([0xFE, 0xFE, 0xF0, 0xF0]),
                        metadata: .cryptoMessage(format: .openPGP, message: .clearSignature))
    }
    static func sbom() throws -> ObjectInput {
        try ObjectInput(.sbom, source: .file(path: Fixture.path("sbom.cdx.json")), metadata: .sbom(format: .cycloneDXJSON))
    }
    static func partSystem() throws -> ObjectInput {
        try ObjectInput(.partition, source: .bytes([0xFA, 0xCE, 0xFE, 0xED]),
                        metadata: .partition(fs: .raw, part: .system, arch: Arch(goName: "386")!))
    }
    static func partPrimary() throws -> ObjectInput {
        try ObjectInput(.partition, source: .file(path: Fixture.path("root.squashfs")),
                        metadata: .partition(fs: .squash, part: .primarySystem, arch: Arch(goName: "386")!))
    }
    static func partGroup2() throws -> ObjectInput {
        try ObjectInput(.partition, source: .file(path: Fixture.path("root.ext3")), group: 2,
                        metadata: .partition(fs: .ext3, part: .system, arch: Arch(goName: "amd64")!))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let file: String
        let objects: @Sendable () throws -> [ObjectInput]
        var id: String? = nil
        var launchScript = ""
        var time: Int64? = nil
        var testDescription: String { file }
    }

    static let cases: [Case] = [
        Case(file: "empty.sif", objects: { [] }),
        Case(file: "empty-id.sif", objects: { [] }, id: "3fa802cc-358b-45e3-bcc0-69dc7a45f9f8"),
        Case(file: "empty-launch-script.sif", objects: { [] }, launchScript: "#!/usr/bin/env run-script\n"),
        Case(file: "one-object-time.sif", objects: { [try genericJSON()] }, time: 1_593_475_316),
        Case(file: "one-object-generic-json.sif", objects: { [try genericJSON()] }),
        Case(file: "one-object-crypt-message.sif", objects: { [try cryptoMessage()] }),
        Case(file: "one-object-sbom.sif", objects: { [try sbom()] }),
        Case(file: "one-group.sif", objects: { [try partSystem(), try partPrimary()] }),
        Case(file: "two-groups.sif", objects: { [try partSystem(), try partPrimary(), try partGroup2()] }),
    ]

    @Test(arguments: cases)
    func writesByteIdenticalImage(_ golden: Case) throws {
        let scratch = try ScratchDirectory()
        var options = CreateOptions()
        options.deterministic = true
        options.launchScript = golden.launchScript
        options.time = golden.time
        if let id = golden.id { options.id = UUIDText.parse(id) }
        let out = scratch.file(golden.file)
        let image = try SIFImage.create(path: out, options: options, objects: try golden.objects())
        try image.close()
        let written = try readFile(out)
        let expected = try Fixture.bytes(golden.file)
        #expect(written.count == expected.count)
        let firstDifference = zip(written, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(firstDifference == nil, "first differing byte at \(firstDifference ?? -1)")
    }

    /// The partition-in-place path used by `build`: an external writer fills the partition at
    /// the planned offset first, then the prefix is written; the result equals a normal write.
    @Test func inPlacePartitionMatchesCopiedPartition() throws {
        let scratch = try ScratchDirectory()
        var options = CreateOptions()
        options.deterministic = true
        let squashfs = try Fixture.bytes("root.squashfs")
        let leading = [try Self.partSystem()]
        let planned = try SIFImage.plannedOffsets(
            options: options,
            objects: leading + [try ObjectInput(.partition, source: .inPlace(size: 0))]
        )
        let out = scratch.file("in-place.sif")
        // What mksquashfs -offset does: a zero prefix, then the file system.
        _ = try scratch.write([UInt8](repeating: 0, count: Int(planned[1])) + squashfs, to: "in-place.sif")
        let inPlace = try ObjectInput(.partition, source: .inPlace(size: Int64(squashfs.count)),
                                      metadata: .partition(fs: .squash, part: .primarySystem, arch: Arch(goName: "386")!))
        try SIFImage.create(path: out, options: options, objects: leading + [inPlace]).close()
        #expect(try readFile(out) == (try Fixture.bytes("one-group.sif")))
    }
}
