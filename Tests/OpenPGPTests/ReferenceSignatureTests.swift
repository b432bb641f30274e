import XCTest
@testable import OpenPGP

/// Signing and verifying against what the SIF reference implementation (sylabs/sif with
/// ProtonMail go-crypto) wrote into its golden `one-group-signed.sif`.
final class ReferenceSignatureTests: XCTestCase {
    func testReadsTheReferenceKey() throws {
        let entities = try KeyEntity.read(try Fixture.bytes("reference-private.asc"))
        XCTAssertEqual(entities.count, 1)
        XCTAssertEqual(entities[0].primary.fingerprintText, Fixture.referenceFingerprint)
        XCTAssertEqual(entities[0].primary.keyIDText, "A20C27EE7FF7BA84")
        XCTAssertEqual(entities[0].userIDs, ["Unit Test <unit@test.com>"])
        XCTAssertTrue(entities[0].hasSecret)
        XCTAssertNil(entities[0].problem(now: Fixture.now))
    }

    func testClearSignsByteForByteAsTheReference() throws {
        let golden = try Fixture.bytes("reference-clearsigned.txt")
        let message = try XCTUnwrap(ClearSignedMessage.decode(golden))
        let key = try SigningKey.load(try Fixture.bytes("reference-private.asc"), now: Fixture.now) { nil }
        let signed = try key.clearSign(message.signedText, time: Fixture.referenceTime)
        XCTAssertEqual(String(decoding: signed, as: UTF8.self), String(decoding: golden, as: UTF8.self))
    }

    func testVerifiesTheReferenceSignature() throws {
        let golden = try Fixture.bytes("reference-clearsigned.txt")
        let message = try XCTUnwrap(ClearSignedMessage.decode(golden))
        XCTAssertEqual(message.hashHeaders, ["SHA256"])
        XCTAssertTrue(message.signedText.starts(with: Array("{\"version\":1,".utf8)))
        let keyring = try Keyring(keyFiles: [try Fixture.bytes("reference-private.asc")])
        let verified = try keyring.verify(signed: message.signedText, signatures: message.signature.body, hashes: [.sha256], now: Fixture.now)
        XCTAssertEqual(verified.signer.primary.fingerprintText, Fixture.referenceFingerprint)
        XCTAssertEqual(verified.creationTime, Fixture.referenceTime)
    }

    func testRefusesATamperedText() throws {
        let golden = try Fixture.bytes("reference-clearsigned.txt")
        var message = try XCTUnwrap(ClearSignedMessage.decode(golden))
        let index = try XCTUnwrap(message.signedText.firstIndex(of: UInt8(ascii: "1")))
        message.signedText[index] = UInt8(ascii: "2")
        let keyring = try Keyring(keyFiles: [try Fixture.bytes("reference-private.asc")])
        XCTAssertThrowsError(try keyring.verify(signed: message.signedText, signatures: message.signature.body, hashes: [.sha256], now: Fixture.now)) {
            XCTAssertTrue("\($0)".contains("does not match the signed text"), "\($0)")
        }
    }

    func testRefusesAHashNotAccepted() throws {
        let message = try XCTUnwrap(ClearSignedMessage.decode(try Fixture.bytes("reference-clearsigned.txt")))
        let keyring = try Keyring(keyFiles: [try Fixture.bytes("reference-private.asc")])
        XCTAssertThrowsError(try keyring.verify(signed: message.signedText, signatures: message.signature.body, hashes: [.sha512], now: Fixture.now))
    }

    func testRefusesASignatureFromTheFuture() throws {
        let message = try XCTUnwrap(ClearSignedMessage.decode(try Fixture.bytes("reference-clearsigned.txt")))
        let keyring = try Keyring(keyFiles: [try Fixture.bytes("reference-private.asc")])
        XCTAssertThrowsError(try keyring.verify(signed: message.signedText, signatures: message.signature.body, hashes: [.sha256], now: Fixture.referenceTime - 1)) {
            XCTAssertTrue("\($0)".contains("future"), "\($0)")
        }
    }

    func testUnknownSignerIsNamed() throws {
        let message = try XCTUnwrap(ClearSignedMessage.decode(try Fixture.bytes("reference-clearsigned.txt")))
        let keyring = try Keyring(keyFiles: [try Fixture.bytes("rsa-public.asc")])
        XCTAssertThrowsError(try keyring.verify(signed: message.signedText, signatures: message.signature.body, hashes: [.sha256], now: Fixture.now)) {
            XCTAssertTrue("\($0)".contains("A20C27EE7FF7BA84"), "\($0)")
        }
    }
}
