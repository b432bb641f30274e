import XCTest
@testable import OpenPGP

/// Keys and clear-signed messages made by GnuPG 2.2 (Fixtures/make-fixtures.sh): RSA and
/// Ed25519, with and without a passphrase.
final class GnuPGKeyTests: XCTestCase {
    func testVerifiesGnuPGClearSignedMessages() throws {
        for name in ["rsa", "ed25519", "ed25519-protected"] {
            let message = try XCTUnwrap(ClearSignedMessage.decode(try Fixture.bytes("\(name)-clearsigned.txt")), name)
            // Dash-escape removed, trailing spaces dropped, CRLF between lines, none at the end.
            XCTAssertEqual(String(decoding: message.signedText, as: UTF8.self), "{\"version\":1}\r\n- dash line\r\ntrailing space", name)
            let keyring = try Keyring(keyFiles: [try Fixture.bytes("\(name)-public.asc")])
            let verified = try keyring.verify(signed: message.signedText, signatures: message.signature.body,
                                              hashes: [.sha224, .sha256, .sha384, .sha512], now: Fixture.now)
            XCTAssertEqual(verified.signer.userIDs, ["sifter \(name) <\(name)@sifter.test>"], name)
        }
    }

    func testWrongKeyIsRefused() throws {
        let message = try XCTUnwrap(ClearSignedMessage.decode(try Fixture.bytes("rsa-clearsigned.txt")))
        let keyring = try Keyring(keyFiles: [try Fixture.bytes("ed25519-public.asc")])
        XCTAssertThrowsError(try keyring.verify(signed: message.signedText, signatures: message.signature.body, hashes: [.sha512], now: Fixture.now))
    }

    func testUnlocksProtectedKeysWithThePassphrase() throws {
        for name in ["rsa", "ed25519-protected"] {
            let file = try Fixture.bytes("\(name)-secret.asc")
            XCTAssertThrowsError(try SigningKey.load(file, now: Fixture.now) { nil }) {
                XCTAssertEqual($0 as? OpenPGPError, .passphraseRequired(keyID: (try? KeyEntity.read(file)[0].keyIDText) ?? ""))
            }
            XCTAssertThrowsError(try SigningKey.load(file, now: Fixture.now) { Array("wrong".utf8) }) {
                guard case .wrongPassphrase? = $0 as? OpenPGPError else { return XCTFail("\($0)") }
            }
            let key = try SigningKey.load(file, now: Fixture.now) { Fixture.passphrase }
            try assertRoundTrip(key, publicFile: try Fixture.bytes("\(name)-public.asc"))
        }
    }

    func testUnprotectedEd25519SignsAndVerifies() throws {
        var asked = false
        let key = try SigningKey.load(try Fixture.bytes("ed25519-secret.asc"), now: Fixture.now) { asked = true; return nil }
        XCTAssertFalse(asked, "an unprotected key must not ask for a passphrase")
        try assertRoundTrip(key, publicFile: try Fixture.bytes("ed25519-public.asc"))
    }

    func testEd25519SignaturesAreDeterministic() throws {
        let key = try SigningKey.load(try Fixture.bytes("ed25519-secret.asc"), now: Fixture.now) { nil }
        let text = Array("{\"a\":1}".utf8)
        XCTAssertEqual(try key.clearSign(text, time: 1_700_000_000), try key.clearSign(text, time: 1_700_000_000))
    }

    private func assertRoundTrip(_ key: SigningKey, publicFile: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        let text = Array("-leading dash\nline  \n{\"json\":true}".utf8)
        let signed = try key.clearSign(text, time: 1_800_000_000)
        let message = try XCTUnwrap(ClearSignedMessage.decode(signed), file: file, line: line)
        XCTAssertEqual(String(decoding: message.plaintext, as: UTF8.self), "-leading dash\nline\n{\"json\":true}\n", file: file, line: line)
        let keyring = try Keyring(keyFiles: [publicFile])
        let verified = try keyring.verify(signed: message.signedText, signatures: message.signature.body, hashes: [.sha256], now: Fixture.now)
        XCTAssertEqual(verified.signer.fingerprint, key.fingerprint, file: file, line: line)
    }
}

/// Every S2K specifier (simple, salted, iterated and salted), AES-128/192/256 and both checks
/// (usage 254: SHA-1, 255: 16-bit sum), on keys protected by another implementation
/// (Fixtures/protect-key.py) and accepted by gpg.
final class SecretKeyProtectionTests: XCTestCase {
    static let variants = [
        "ed25519-s2k-iterated-sha256-aes256-sha1check", "ed25519-s2k-salted-sha512-aes192-sum16",
        "ed25519-s2k-simple-sha1-aes128-sha1check", "ed25519-s2k-iterated-sha1-aes128-sum16",
    ]

    func testEveryProtectionUnlocksWithThePassphraseOnly() throws {
        let expected = try KeyEntity.read(try Fixture.bytes("ed25519-public.asc"))[0].fingerprint
        for name in Self.variants {
            let file = try Fixture.bytes("\(name).asc")
            let key = try SigningKey.load(file, now: Fixture.now) { Fixture.passphrase }
            XCTAssertEqual(key.fingerprint, expected, name)
            let message = try XCTUnwrap(ClearSignedMessage.decode(try key.clearSign(Array("x".utf8), time: 1_800_000_000)))
            _ = try Keyring(keyFiles: [try Fixture.bytes("ed25519-public.asc")])
                .verify(signed: message.signedText, signatures: message.signature.body, hashes: [.sha256], now: Fixture.now)
            XCTAssertThrowsError(try SigningKey.load(file, now: Fixture.now) { Array("not it".utf8) }, name)
        }
    }
}
