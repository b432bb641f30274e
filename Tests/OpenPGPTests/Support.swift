import Foundation
import XCTest

/// Fixtures (see Fixtures/make-fixtures.sh): the SIF reference implementation's test key and
/// one clear-signed message it made, and keys and messages made by GnuPG 2.2.
enum Fixture {
    static func bytes(_ name: String) throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil) else {
            throw XCTSkip("fixture \(name) missing")
        }
        return [UInt8](try Data(contentsOf: url))
    }

    static let passphrase = Array("sifter test passphrase".utf8)
    /// 2020-06-30T00:01:56Z: the time of the reference's golden signatures.
    static let referenceTime: UInt32 = 1_593_475_316
    static let referenceFingerprint = "12045C8C0B1004D058DE4BEDA20C27EE7FF7BA84"
    /// Well after every fixture was made.
    static let now: UInt32 = 1_900_000_000
}
