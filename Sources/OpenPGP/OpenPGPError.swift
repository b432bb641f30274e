import COpenSSL

/// Every failure the OpenPGP module reports. No case ever carries key material or a
/// passphrase: only key IDs, fingerprints and what was wrong.
public enum OpenPGPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// ASCII armor that cannot be decoded (missing lines, bad base64, checksum mismatch).
    case armor(String)
    /// A packet, key or signature whose bytes do not have the structure RFC 4880 gives them.
    case malformed(String)
    /// Well formed, but something sifter does not implement (a v3 or v5 key, DSA, AEAD).
    case unsupported(String)
    /// The secret key is protected and no passphrase was given.
    case passphraseRequired(keyID: String)
    /// The passphrase does not unlock the secret key (its checksum does not match).
    case wrongPassphrase(keyID: String)
    /// A key that cannot do what is asked (no secret part, revoked, expired).
    case unusableKey(String)
    /// A signature that does not verify, or cannot be checked against the given keys.
    case badSignature(String)
    /// An OpenSSL call failed; `message` is OpenSSL's own error queue text.
    case openssl(operation: String, message: String)

    public var description: String {
        switch self {
        case let .armor(reason): "OpenPGP armor: \(reason)"
        case let .malformed(reason): "OpenPGP data is malformed: \(reason)"
        case let .unsupported(what): "OpenPGP: \(what) is not supported"
        case let .passphraseRequired(keyID): "the secret key \(keyID) is protected by a passphrase; give it with --passphrase-stdin or SIFTER_SIGN_PASSPHRASE"
        case let .wrongPassphrase(keyID): "the passphrase does not unlock the secret key \(keyID)"
        case let .unusableKey(reason): reason
        case let .badSignature(reason): reason
        case let .openssl(operation, message): "OpenSSL \(operation) failed: \(message)"
        }
    }

    /// Builds an error from OpenSSL's thread-local error queue, draining it so that a stale
    /// entry cannot be blamed on a later, unrelated failure.
    static func fromOpenSSL(_ operation: String) -> OpenPGPError {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return .openssl(operation: operation, message: messages.isEmpty ? "no error reported by OpenSSL" : messages.joined(separator: "; "))
    }
}
