import Foundation
import Hashing
import SIF
import Testing
@testable import SifterCore

/// The integrity half of `sifter verify` on SIFs written here the way the builder writes them:
/// leading objects, a partition, then `sifter-integrity.json` appended at the build's time.
@Suite struct VerifyIntegrityTests {
    static let time: Int64 = 1_704_164_645

    func scratch() -> String { NSTemporaryDirectory() + "sifter-verify-\(UUID().uuidString).sif" }

    /// A built-like SIF; `integrity: false` leaves out the record, `provenanceNamesRecord`
    /// decides whether the provenance says one was written.
    func makeSIF(integrity: Bool = true, provenanceNamesRecord: Bool = true) throws -> String {
        let path = scratch()
        var options = CreateOptions()
        options.launchScript = Layout.defaultLaunchScript
        options.time = Self.time
        options.id = Array(repeating: 7, count: 16)
        let provenance = provenanceNamesRecord ? #"{"source":"oci:x","integrity":"sifter-integrity.json"}"# : #"{"source":"oci:x"}"#
        let image = try SIFImage.create(path: path, options: options, objects: [
            try ObjectInput(.deffile, source: .bytes(Array("bootstrap: docker\nfrom: x\n".utf8))),
            try ObjectInput(.genericJSON, source: .bytes(Array(#"{"a":1}"#.utf8)), name: "inspect-metadata.json"),
            try ObjectInput(.genericJSON, source: .bytes(Array(#"{"Env":[]}"#.utf8)), name: "oci-config.json"),
            try ObjectInput(.genericJSON, source: .bytes(Array(provenance.utf8)), name: "sifter-provenance.json"),
            try ObjectInput(.partition, source: .bytes((0..<10_000).map { UInt8($0 % 251) }),
                            metadata: .partition(fs: .squash, part: .primarySystem, arch: Arch(goName: "amd64")!)),
        ])
        if integrity { try IntegrityRecord.append(to: image, time: Self.time) }
        try image.close()
        return path
    }

    func descriptor(_ path: String, id: UInt32) throws -> SIF.Descriptor {
        let image = try SIFImage.load(path: path)
        defer { try? image.close() }
        return try image.descriptor(matching: [.id(id)])
    }

    func flip(_ path: String, at offset: Int64) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data([byte ^ 0x5A]))
    }

    /// Where field `fieldOffset` of descriptor `id` sits (slot = id - 1 in a built SIF).
    func descriptorByte(id: UInt32, field fieldOffset: Int64) -> Int64 {
        Layout.defaultDescriptorsOffset + Int64(id - 1) * Int64(Layout.descriptorSize) + fieldOffset
    }

    /// The builder's path (record reserved first, file hashed alongside) writes the very bytes
    /// `append` writes, and returns the digest of the finished file.
    @Test func builderAppendWritesTheSameBytesAndHashesTheFile() throws {
        let plain = try makeSIF()
        defer { unlink(plain) }
        let bare = try makeSIF(integrity: false)
        defer { unlink(bare) }
        let image = try SIFImage.load(path: bare, writable: true)
        let digest = try IntegrityRecord.appendHashingFile(to: image, time: Self.time)
        try image.close()
        let expected = try Data(contentsOf: URL(fileURLWithPath: plain))
        let built = try Data(contentsOf: URL(fileURLWithPath: bare))
        #expect(built == expected)
        #expect(digest.hex == (try SHA256.hash(built)).hex)
        #expect(IntegrityChecker.check(path: bare).status == .passed)
    }

    @Test func freshSIFVerifies() throws {
        let path = try makeSIF()
        defer { unlink(path) }
        let result = IntegrityChecker.check(path: path)
        #expect(result.status == .passed, "\(result.summary)")
        #expect(result.findings.isEmpty)
        #expect(result.objects.map(\.id) == [1, 2, 3, 4, 5])
        #expect(result.objects.allSatisfy { $0.sha256 == $0.recorded })
        let record = try descriptor(path, id: 6)
        #expect(record.name == IntegrityRecord.objectName)
        #expect(record.createdAt == Self.time)
        #expect(record.offset == (try descriptor(path, id: 5)).offset + 10_000, "appended right after the partition")
    }

    @Test func sameInputGivesTheSameBytes() throws {
        let first = try makeSIF(), second = try makeSIF()
        defer { unlink(first); unlink(second) }
        #expect(FileManager.default.contentsEqual(atPath: first, andPath: second))
    }

    @Test(arguments: [(1, "deffile"), (2, "genericJSON"), (3, "genericJSON"), (4, "genericJSON"), (5, "partition")] as [(UInt32, String)])
    func aFlippedDataByteNamesItsObject(id: UInt32, type: String) throws {
        let path = try makeSIF()
        defer { unlink(path) }
        let target = try descriptor(path, id: id)
        try flip(path, at: target.offset + target.size / 2)
        let result = IntegrityChecker.check(path: path)
        #expect(result.status == .failed)
        #expect(result.findings.count == 1)
        let finding = try #require(result.findings.first)
        #expect(finding.id == id && finding.type == type)
        #expect(finding.problem.contains("data hashes to sha256:"))
        #expect(result.summary.hasPrefix("object \(id)"))
    }

    @Test(arguments: [(Int64(41), "createdAt"), (Int64(49), "modifiedAt"), (Int64(57), "uid"), (Int64(75), "name"), (Int64(173), "name"), (Int64(201), "extra")] as [(Int64, String)])
    func aFlippedDescriptorByteNamesTheObjectAndField(field: Int64, name: String) throws {
        let path = try makeSIF()
        defer { unlink(path) }
        try flip(path, at: descriptorByte(id: 5, field: field))
        let result = IntegrityChecker.check(path: path)
        #expect(result.status == .failed)
        let finding = try #require(result.findings.first)
        #expect(finding.id == 5)
        #expect(finding.problem.contains("descriptor differs from the build: \(name) is"), "\(finding.problem)")
    }

    @Test func aFlippedSizeIsCaughtByLoadOrByTheRecord() throws {
        let path = try makeSIF()
        defer { unlink(path) }
        try flip(path, at: descriptorByte(id: 1, field: 25))  // the definition file's size
        let result = IntegrityChecker.check(path: path)
        #expect(result.status == .failed, "\(result.summary)")
    }

    @Test func aFlippedHeaderByteIsNamed() throws {
        let path = try makeSIF()
        defer { unlink(path) }
        try flip(path, at: 5)  // inside the launch script
        let result = IntegrityChecker.check(path: path)
        #expect(result.status == .failed)
        #expect(result.findings.first?.subject == "header")
    }

    @Test func damageToTheRecordIsBlamedOnTheRecord() throws {
        let path = try makeSIF()
        defer { unlink(path) }
        let record = try descriptor(path, id: 6)
        try flip(path, at: record.offset + 40)
        let result = IntegrityChecker.check(path: path)
        #expect(result.status == .failed)
        #expect(result.findings.first?.id == 6)
        #expect(result.findings.first?.problem.contains("damaged") == true)
        // And its own descriptor, which it cannot hash, is checked against what a build writes.
        let second = try makeSIF()
        defer { unlink(second) }
        try flip(second, at: descriptorByte(id: 6, field: 49))
        let again = IntegrityChecker.check(path: second)
        #expect(again.status == .failed)
        #expect(again.findings.first?.id == 6)
    }

    @Test func withoutARecordNothingCanBeChecked() throws {
        let path = try makeSIF(integrity: false, provenanceNamesRecord: false)
        defer { unlink(path) }
        let result = IntegrityChecker.check(path: path)
        #expect(result.status == .cannotCheck)
        #expect(result.summary.contains("no sifter-integrity.json"))
        let report = VerifyReport(path: path, checks: [Verifier.integrityCheckForTests(result)])
        #expect(report.verdict == .cannotCheck && report.verdict.exitCode == 2)
    }

    @Test func aRecordTheProvenancePromisesMustBeThere() throws {
        let path = try makeSIF(integrity: false, provenanceNamesRecord: true)
        defer { unlink(path) }
        let result = IntegrityChecker.check(path: path)
        #expect(result.status == .failed)
        #expect(result.findings.first?.name == IntegrityRecord.objectName)
    }

    @Test func aMissingFileCannotBeChecked() {
        let result = IntegrityChecker.check(path: "/nonexistent/sifter-verify.sif")
        #expect(result.status == .cannotCheck)
    }

    @Test func aDamagedStructureIsAMismatch() throws {
        let path = try makeSIF()
        defer { unlink(path) }
        try flip(path, at: 33)  // the magic
        let result = IntegrityChecker.check(path: path)
        #expect(result.status == .failed)
        #expect(result.findings.first?.subject == "structure")
    }

    @Test func aSignatureMayBeAddedButNotAPartition() throws {
        let signed = try makeSIF()
        defer { unlink(signed) }
        let image = try SIFImage.load(path: signed, writable: true)
        try image.add(try ObjectInput(.signature, source: .bytes([1, 2, 3]), group: nil, link: .group(1),
                                      metadata: .signature(hash: .sha256, entity: Array(repeating: 1, count: 20))), time: 1)
        try image.add(try ObjectInput(.partition, source: .bytes([0]), metadata: .partition(fs: .raw, part: .overlay, arch: Arch(goName: "amd64")!)), time: 1)
        try image.close()
        let result = IntegrityChecker.check(path: signed)
        #expect(result.status == .failed)
        #expect(result.findings.map(\.id) == [8])
        #expect(result.uncovered.map(\.id) == [7])
        // Deleting the extra partition leaves only the signature: verified.
        let edit = try SIFImage.load(path: signed, writable: true)
        try edit.delete(id: 8, compact: true)
        try edit.close()
        #expect(IntegrityChecker.check(path: signed).status == .passed)
    }

    @Test func anAddedOverlayIsNamedAndAcceptedOnlyWhenAllowed() throws {
        let path = try makeSIF()
        defer { unlink(path) }
        let image = try SIFImage.load(path: path, writable: true)
        // What `apptainer overlay create` adds: an ext3 overlay partition in group 1.
        try image.add(try ObjectInput(.partition, source: .bytes([UInt8](repeating: 0, count: 4096)),
                                      metadata: .partition(fs: .ext3, part: .overlay, arch: Arch(goName: "amd64")!)), time: 1)
        try image.close()
        let refused = IntegrityChecker.check(path: path)
        #expect(refused.status == .failed)
        #expect(refused.findings.map(\.problem) == [
            "added after the build: an Ext3 overlay partition (4096 bytes), as `apptainer overlay create` adds; --allow-added accepts overlay partitions",
        ])
        let allowed = IntegrityChecker.check(path: path, allowAdded: true)
        #expect(allowed.status == .passed)
        #expect(allowed.uncovered.map(\.problem) == ["added after the build: an Ext3 overlay partition (4096 bytes); accepted (--allow-added)"])
        #expect(allowed.summary.hasSuffix("; added since and accepted: object 7 (partition)"))
    }

    @Test func allowAddedAcceptsNothingButOverlays() throws {
        let path = try makeSIF()
        defer { unlink(path) }
        let image = try SIFImage.load(path: path, writable: true)
        try image.add(try ObjectInput(.genericJSON, source: .bytes(Array("{}".utf8)), name: "extra.json"), time: 1)
        try image.close()
        let result = IntegrityChecker.check(path: path, allowAdded: true)
        #expect(result.status == .failed)
        #expect(result.findings.map(\.description) == ["object 7 \"extra.json\" (genericJSON): added after the build: a genericJSON object (2 bytes)"])
    }

    @Test func aDeletedObjectIsNamed() throws {
        let path = try makeSIF()
        defer { unlink(path) }
        let image = try SIFImage.load(path: path, writable: true)
        try image.delete(id: 3)
        try image.close()
        let result = IntegrityChecker.check(path: path)
        #expect(result.findings.contains { $0.id == 3 && $0.problem.contains("missing") })
    }

    @Test func theRecordRoundTripsAndRejectsTruncation() throws {
        let record = IntegrityRecord(
            header: .init(launchScript: "x", id: "00", arch: "amd64", createdAt: 1, descriptorsTotal: 48, descriptorsOffset: 4096, dataOffset: 32176),
            objects: [.init(id: 1, name: "a\u{0}b", type: "deffile", typeCode: 0x4001, group: 0xF000_0001, link: 0, offset: 32176, size: 3,
                            sizeWithPadding: 3, createdAt: 1, modifiedAt: 1, uid: 0, gid: 0, extra: "", sha256: String(repeating: "0", count: 64))])
        let bytes = try record.encoded()
        #expect(try IntegrityRecord.decode(bytes) == record)
        #expect(throws: IntegrityRecord.DecodeError.self) { try IntegrityRecord.decode(Array(bytes.dropLast())) }
        #expect(throws: IntegrityRecord.DecodeError.self) { try IntegrityRecord.decode(Array("{}".utf8)) }
    }

    @Test func provenanceGivesTheRebuildOptionsOrSaysItCannot() throws {
        let base = #"{"source":"docker://r.example/a:1","reference":"r.example/a:1","indexDigest":null,"manifestDigest":"sha256:"#
            + String(repeating: "a", count: 64) + #"","platform":"linux/arm64/v8","configDigest":"sha256:"#
            + String(repeating: "b", count: 64) + #"","buildOptions":"x","sifterVersion":"0.1.0","mksquashfsVersion":"4.5.1""#
        let modern = base + #","build":{"platform":"linux/arm64/v8","compression":"zstd","blockSize":65536,"processors":null,"time":42},"integrity":"sifter-integrity.json"}"#
        let recorded = try JSONDecoder().decode(RecordedProvenance.self, from: Data(modern.utf8))
        let options = try #require(try recorded.buildOptions(mksquashfs: "mksquashfs"))
        #expect(options.platform.description == "linux/arm64/v8")
        #expect(options.squashfs.compression == "zstd" && options.squashfs.blockSize == 65536 && options.squashfs.processors == nil)
        #expect(options.sourceDateEpoch == 42)
        let old = try JSONDecoder().decode(RecordedProvenance.self, from: Data((base + "}").utf8))
        #expect(try old.buildOptions(mksquashfs: "mksquashfs") == nil)
        #expect(try old.requestedPlatform.description == "linux/arm64/v8")
    }

    @Test func verdictsAndExitCodes() {
        let pass = VerifyReport.Check(name: "integrity", status: .passed, summary: "ok")
        let cannot = VerifyReport.Check(name: "source", status: .cannotCheck, summary: "registry unreachable")
        let fail = VerifyReport.Check(name: "source", status: .failed, summary: "moved")
        #expect(VerifyReport(path: "f", checks: [pass, .init(name: "source", status: .skipped, summary: "--offline")]).verdict.exitCode == 0)
        #expect(VerifyReport(path: "f", checks: [pass, cannot]).verdict.exitCode == 2)
        #expect(VerifyReport(path: "f", checks: [fail, cannot]).verdict.exitCode == 1)
        let line = VerifyReport(path: "f", checks: [pass, fail]).line
        #expect(line == "MISMATCH: f: source: moved")
        #expect(!line.contains("\n"))
    }
}

extension Verifier {
    /// The integrity check as `verify` reports it, without needing a registry closure.
    static func integrityCheckForTests(_ result: IntegrityResult) -> VerifyReport.Check {
        Verifier(options: VerifyOptions()) { _ in throw SifterError.invalidArgument("no registry in tests") }.integrityCheck(result)
    }
}
