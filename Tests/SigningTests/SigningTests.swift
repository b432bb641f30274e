import Foundation
import OpenPGP
import SIF
import XCTest
@testable import SifterCore

/// `SIFSigner` and `SIFSignatureVerifier` against the reference implementation's golden images.
final class SigningTests: XCTestCase {
    static let referenceTime: Int64 = 1_593_475_316  // 2020-06-30T00:01:56Z
    static let now: UInt32 = 1_900_000_000
    static let fingerprint = "12045C8C0B1004D058DE4BEDA20C27EE7FF7BA84"

    var scratch = ""

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "signing-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: scratch) }

    func fixture(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil) else { throw XCTSkip("no fixture \(name)") }
        return url.path
    }

    /// A writable copy of a fixture.
    func copy(_ name: String) throws -> String {
        let target = scratch + "/" + name
        try FileManager.default.copyItem(atPath: try fixture(name), toPath: target)
        chmod(target, 0o644)
        return target
    }

    func key() throws -> SigningKey { try KeyFiles.signingKey(try fixture("private.asc")) { nil } }
    func keyring() throws -> Keyring { try KeyFiles.keyring([try fixture("private.asc")]) }

    func testMetadataIsTheJSONTheReferenceSigned() throws {
        let unsigned = try SIFImage.load(path: try fixture("one-group.sif"))
        defer { try? unsigned.close() }
        let metadata = try SignedMetadata.measure(unsigned, descriptors: unsigned.descriptors(matching: [.group(1)]))
        let signed = try SIFImage.load(path: try fixture("one-group-signed.sif"))
        defer { try? signed.close() }
        let message = try XCTUnwrap(ClearSignedMessage.decode(try signed.data(of: signed.descriptor(matching: [.dataType(.signature)]))))
        XCTAssertEqual(String(decoding: metadata.json, as: UTF8.self), String(decoding: message.signedText, as: UTF8.self))
        XCTAssertEqual(try SignedMetadata.decode(message.signedText), metadata)
    }

    func testDeterministicSigningGivesTheGoldenFiles() throws {
        for name in ["one-group", "two-groups"] {
            let path = try copy("\(name).sif")
            let added = try SIFSigner.sign(path: path, with: try key(),
                                           options: SignOptions(signatureTime: Self.referenceTime, sifTime: Layout.deterministicTime))
            XCTAssertEqual(added.map(\.group), name == "one-group" ? [1] : [1, 2])
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), try Data(contentsOf: URL(fileURLWithPath: try fixture("\(name)-signed.sif"))), name)
        }
    }

    func testVerifiesTheGoldenSignedImages() throws {
        for name in ["one-group-signed", "two-groups-signed"] {
            let image = try SIFImage.load(path: try fixture("\(name).sif"))
            defer { try? image.close() }
            let report = SIFSignatureVerifier.verify(image, keyring: try keyring(), now: Self.now)
            XCTAssertTrue(report.passed, "\(name): \(report)")
            XCTAssertEqual(report.outcomes.map(\.fingerprint), Array(repeating: Self.fingerprint, count: name == "one-group-signed" ? 1 : 2))
            XCTAssertEqual(report.outcomes.first?.verifiedObjects, [1, 2])
            XCTAssertEqual(report.outcomes.first?.signatureTime, UInt32(Self.referenceTime))
        }
    }

    func testLegacySignaturesOnlyWhenAsked() throws {
        for name in ["one-group-signed-legacy", "one-group-signed-legacy-group", "one-group-signed-legacy-all"] {
            let image = try SIFImage.load(path: try fixture("\(name).sif"))
            defer { try? image.close() }
            XCTAssertTrue(SIFSignatureVerifier.verify(image, keyring: try keyring(), now: Self.now, legacy: true).passed, name)
            let current = SIFSignatureVerifier.verify(image, keyring: try keyring(), now: Self.now)
            XCTAssertFalse(current.passed, name)
            XCTAssertTrue(current.problems.contains { $0.contains("other than legacy ones") }, "\(name): \(current.problems)")
        }
    }

    func testTamperingIsNamed() throws {
        let cases: [(String, (SIFImage) -> Int64, String)] = [
            ("object", { $0.descriptors[1].offset + 10 }, "the data of object 2 (partition) changed after signing"),
            // The first descriptor's creation time.
            ("descriptor", { $0.header.descriptorsOffset + 41 }, "the descriptor of object 1 (partition) changed after signing"),
            ("header", { _ in 50 }, "the SIF header (launch script, magic, version or ID) changed after signing"),
        ]
        for (name, offset, message) in cases {
            let path = try copy("one-group-signed.sif")
            let original = try SIFImage.load(path: path)
            let position = offset(original)
            try original.close()
            let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
            try handle.seek(toOffset: UInt64(position))
            let byte = try XCTUnwrap(handle.readData(ofLength: 1).first)
            try handle.seek(toOffset: UInt64(position))
            handle.write(Data([byte ^ 0x5A]))
            try handle.close()
            let image = try SIFImage.load(path: path)
            defer { try? image.close() }
            let report = SIFSignatureVerifier.verify(image, keyring: try keyring(), now: Self.now)
            XCTAssertFalse(report.passed, name)
            XCTAssertEqual(report.outcomes.first?.problem, message, name)
            try FileManager.default.removeItem(atPath: path)
        }
    }

    func testAnObjectAddedToASignedGroupIsRefused() throws {
        let path = try copy("one-group-signed.sif")
        let image = try SIFImage.load(path: path, writable: true)
        try image.add(try ObjectInput(.generic, source: .bytes([1, 2, 3])), time: 0)
        let report = SIFSignatureVerifier.verify(image, keyring: try keyring(), now: Self.now)
        try image.close()
        XCTAssertEqual(report.outcomes.first?.problem, "object 4 (generic) is in group 1 but not signed: added after signing")
    }

    func testAnUnknownKeyAndAnUngroupedObjectAreReported() throws {
        let path = try copy("one-group-signed.sif")
        let image = try SIFImage.load(path: path, writable: true)
        try image.add(try ObjectInput(.generic, source: .bytes([1]), group: nil), time: 0)
        let report = SIFSignatureVerifier.verify(image, keyring: Keyring(entities: []), now: Self.now)
        try image.close()
        XCTAssertTrue(report.outcomes.first?.problem?.contains("A20C27EE7FF7BA84, which is not among the given keys") ?? false, "\(report.outcomes)")
        XCTAssertEqual(report.problems, ["object 4 (generic) is in no object group, so no signature can cover it"])
    }

    func testSigningNothingIsAnError() throws {
        let path = scratch + "/empty.sif"
        var options = CreateOptions()
        options.deterministic = true
        try SIFImage.create(path: path, options: options, objects: []).close()
        XCTAssertThrowsError(try SIFSigner.sign(path: path, with: try key(), options: SignOptions(signatureTime: 0))) {
            XCTAssertEqual($0 as? SigningError, .nothingToSign(path: path))
        }
    }
}
