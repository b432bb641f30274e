/// A secret key packet (RFC 4880 §5.5.3): the public key, then the secret part in the clear
/// or protected by a passphrase (S2K usage 254: SHA-1 check, 255: 16-bit sum, 0: none).
public struct SecretKeyPacket: Sendable {
    public let publicKey: PublicKey
    let usage: UInt8
    let cipher: UInt8
    let s2k: S2K?
    let iv: [UInt8]
    /// The secret part as stored (encrypted when protected), checksum included.
    let stored: [UInt8]

    public var isProtected: Bool { usage != 0 }

    static func parse(_ body: [UInt8]) throws(OpenPGPError) -> SecretKeyPacket {
        let (key, consumed) = try PublicKey.parse(body)
        var reader = BigEndianReader(body, from: consumed)
        let usage = try reader.byte("a secret key's S2K usage")
        var cipher: UInt8 = 0
        var s2k: S2K?
        var iv: [UInt8] = []
        switch usage {
        case 0:
            break
        case 254, 255:
            cipher = try reader.byte("a secret key's cipher")
            s2k = try S2K.parse(&reader)
            if case .gnuDummy = s2k {
                break
            }
            let blockSize = (try? SymmetricCipher.named(cipher).blockSize) ?? 8
            iv = try reader.read(blockSize, "a secret key's IV")
        case 253:
            throw .unsupported("AEAD-protected secret keys (key \(key.keyIDText))")
        default:
            throw .unsupported("secret keys protected with the legacy MD5 scheme (key \(key.keyIDText))")
        }
        return SecretKeyPacket(publicKey: key, usage: usage, cipher: cipher, s2k: s2k, iv: iv, stored: reader.rest())
    }

    /// The secret material, decrypted with `passphrase` when protected, its checksum checked.
    func unlock(passphrase: [UInt8]?) throws(OpenPGPError) -> SecretMaterial {
        var plain: [UInt8]
        let checksumLength: Int
        switch usage {
        case 0:
            plain = stored
            checksumLength = 2
        default:
            if case .gnuDummy = s2k {
                throw .unusableKey("the secret key \(publicKey.keyIDText) is a stub (its secret part is on a smartcard or was not exported)")
            }
            guard let passphrase else { throw .passphraseRequired(keyID: publicKey.keyIDText) }
            let cipher = try SymmetricCipher.named(self.cipher)
            guard let s2k else { throw .malformed("a protected secret key without S2K") }
            var key = try s2k.deriveKey(passphrase: passphrase, length: cipher.keyLength)
            defer { wipe(&key) }
            plain = try cipher.cfb(stored, key: key, iv: iv, encrypt: false)
            checksumLength = usage == 254 ? 20 : 2
        }
        defer { wipe(&plain) }
        guard plain.count >= checksumLength else { throw .malformed("the secret part of key \(publicKey.keyIDText) is cut short") }
        let secret = Array(plain.prefix(plain.count - checksumLength))
        let checksum = Array(plain.suffix(checksumLength))
        let matches: Bool
        if checksumLength == 20 {
            matches = (try DigestAlgorithm.sha1.hash(secret)) == checksum
        } else {
            let sum = secret.reduce(UInt16(0)) { $0 &+ UInt16($1) }
            matches = checksum == [UInt8(sum >> 8), UInt8(sum & 0xFF)]
        }
        guard matches else {
            if usage == 0 { throw .malformed("the secret part of key \(publicKey.keyIDText) fails its checksum") }
            throw .wrongPassphrase(keyID: publicKey.keyIDText)
        }
        return try SecretMaterial.parse(secret, for: publicKey)
    }
}

/// The secret numbers of a key, wiped when released.
final class SecretMaterial {
    enum Numbers {
        case rsa(d: [UInt8], p: [UInt8], q: [UInt8], u: [UInt8])
        case ed25519(seed: [UInt8])
    }

    private(set) var numbers: Numbers

    private init(_ numbers: Numbers) { self.numbers = numbers }

    deinit {
        switch numbers {
        case var .rsa(d, p, q, u):
            wipe(&d); wipe(&p); wipe(&q); wipe(&u)
            numbers = .rsa(d: d, p: p, q: q, u: u)
        case var .ed25519(seed):
            wipe(&seed)
            numbers = .ed25519(seed: seed)
        }
    }

    static func parse(_ secret: [UInt8], for key: PublicKey) throws(OpenPGPError) -> SecretMaterial {
        var reader = BigEndianReader(secret)
        switch key.material {
        case .rsa:
            let d = try reader.mpi("an RSA secret exponent")
            let p = try reader.mpi("an RSA prime")
            let q = try reader.mpi("an RSA prime")
            let u = try reader.mpi("an RSA coefficient")
            return SecretMaterial(.rsa(d: d, p: p, q: q, u: u))
        case .ed25519:
            let scalar = try reader.mpi("an Ed25519 secret key")
            guard scalar.count <= 32 else { throw .malformed("an Ed25519 secret key is longer than 32 bytes") }
            // An MPI drops leading zero bytes; the seed is always 32 bytes.
            return SecretMaterial(.ed25519(seed: [UInt8](repeating: 0, count: 32 - scalar.count) + scalar))
        case .other:
            throw .unsupported("signing with \(key.algorithmDescription) keys (only RSA and Ed25519)")
        }
    }

    /// The OpenSSL key for signing, checked against its public part.
    func evpKey(for key: PublicKey) throws(OpenPGPError) -> EVPKey {
        switch (numbers, key.material) {
        case let (.rsa(d, p, q, u), .rsa(n, e)):
            return try .rsa(n: n, e: e, secret: (d, p, q, u))
        case let (.ed25519(seed), .ed25519(point)):
            let evp = try EVPKey.ed25519(seed: seed)
            guard try evp.ed25519PublicKey() == point else {
                throw .malformed("the secret part of key \(key.keyIDText) does not belong to its public key")
            }
            return evp
        default:
            throw .malformed("the secret part of key \(key.keyIDText) does not match its algorithm")
        }
    }
}
