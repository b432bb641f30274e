/// Public-key algorithm numbers (RFC 4880 §9.1, RFC 6637, EdDSA of RFC 4880bis).
public enum PublicKeyAlgorithm: UInt8, Sendable {
    case rsa = 1
    case rsaEncryptOnly = 2
    case rsaSignOnly = 3
    case elgamal = 16
    case dsa = 17
    case ecdh = 18
    case ecdsa = 19
    /// EdDSA "legacy" (v4 keys, curve OID Ed25519): what `gpg --quick-gen-key … ed25519` makes.
    case eddsaLegacy = 22

    public var name: String {
        switch self {
        case .rsa, .rsaEncryptOnly, .rsaSignOnly: "RSA"
        case .elgamal: "ElGamal"
        case .dsa: "DSA"
        case .ecdh: "ECDH"
        case .ecdsa: "ECDSA"
        case .eddsaLegacy: "EdDSA"
        }
    }
}

/// The key material sifter can use for signatures.
enum KeyMaterial: Sendable, Equatable {
    case rsa(n: [UInt8], e: [UInt8])
    case ed25519(point: [UInt8])
    /// Any other algorithm or curve: kept (it counts for the fingerprint) but not usable.
    case other(algorithm: UInt8, detail: String)
}

/// A version 4 public key packet body (RFC 4880 §5.5.2), with its fingerprint and key ID.
public struct PublicKey: Sendable, Equatable {
    /// The public part of the packet body: what the fingerprint covers.
    public let body: [UInt8]
    public let creationTime: UInt32
    public let algorithmID: UInt8
    let material: KeyMaterial
    /// SHA-1 over 0x99, the two-byte length and the body (RFC 4880 §12.2).
    public let fingerprint: [UInt8]

    /// The low 64 bits of the fingerprint.
    public var keyID: [UInt8] { Array(fingerprint.suffix(8)) }
    public var keyIDText: String { Hex.upper(keyID) }
    public var fingerprintText: String { Hex.upper(fingerprint) }
    public var algorithm: PublicKeyAlgorithm? { PublicKeyAlgorithm(rawValue: algorithmID) }

    static let ed25519OID: [UInt8] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01]

    /// Parses the public part at the start of `packetBody` (a public key packet, or the front
    /// of a secret key packet); `consumed` is where the public part ends.
    static func parse(_ packetBody: [UInt8]) throws(OpenPGPError) -> (key: PublicKey, consumed: Int) {
        var reader = BigEndianReader(packetBody)
        let version = try reader.byte("a key's version")
        guard version == 4 else {
            throw .unsupported("a version \(version) key (only version 4 keys, what gpg and `apptainer key newpair` make)")
        }
        let created = try reader.uint32("a key's creation time")
        let algorithm = try reader.byte("a key's algorithm")
        let material: KeyMaterial
        switch PublicKeyAlgorithm(rawValue: algorithm) {
        case .rsa?, .rsaEncryptOnly?, .rsaSignOnly?:
            let n = try reader.mpi("an RSA modulus")
            let e = try reader.mpi("an RSA exponent")
            material = .rsa(n: n, e: e)
        case .dsa?:
            for part in ["p", "q", "g", "y"] { _ = try reader.mpi("a DSA \(part)") }
            material = .other(algorithm: algorithm, detail: "DSA")
        case .elgamal?:
            for part in ["p", "g", "y"] { _ = try reader.mpi("an ElGamal \(part)") }
            material = .other(algorithm: algorithm, detail: "ElGamal")
        case .ecdsa?, .ecdh?, .eddsaLegacy?:
            let oidLength = Int(try reader.byte("a curve OID length"))
            let oid = try reader.read(oidLength, "a curve OID")
            let point = try reader.mpi("a curve point")
            if algorithm == PublicKeyAlgorithm.ecdh.rawValue {
                let kdfLength = Int(try reader.byte("ECDH KDF parameters"))
                _ = try reader.read(kdfLength, "ECDH KDF parameters")
            }
            if algorithm == PublicKeyAlgorithm.eddsaLegacy.rawValue, oid == ed25519OID {
                guard point.count == 33, point[0] == 0x40 else { throw .malformed("an Ed25519 public key is not a 0x40-prefixed 32-byte point") }
                material = .ed25519(point: Array(point.dropFirst()))
            } else {
                material = .other(algorithm: algorithm, detail: "\(PublicKeyAlgorithm(rawValue: algorithm)?.name ?? "") curve OID \(Hex.lower(oid))")
            }
        case nil:
            // Unknown algorithm: its fields cannot be delimited, so it must be a public packet.
            _ = reader.rest()
            material = .other(algorithm: algorithm, detail: "algorithm \(algorithm)")
        }
        let publicPart = Array(packetBody[0..<reader.position])
        var framed: [UInt8] = [0x99]
        framed.appendBigEndian(UInt16(publicPart.count))
        let fingerprint = try DigestAlgorithm.sha1.hash(framed + publicPart)
        return (PublicKey(body: publicPart, creationTime: created, algorithmID: algorithm, material: material, fingerprint: fingerprint), reader.position)
    }

    /// The bytes a key signature hashes for this key: 0x99, two-byte length, body.
    var hashedForm: [UInt8] {
        var out: [UInt8] = [0x99]
        out.appendBigEndian(UInt16(body.count))
        return out + body
    }

    /// Whether this key's algorithm can make and check signatures in sifter.
    var canSign: Bool {
        switch material {
        case let .rsa(n, _): algorithmID != PublicKeyAlgorithm.rsaEncryptOnly.rawValue && !n.isEmpty
        case .ed25519: true
        case .other: false
        }
    }

    var algorithmDescription: String {
        switch material {
        case let .rsa(n, _): "RSA \(n.count * 8 - (n.first?.leadingZeroBitCount ?? 0))-bit"
        case .ed25519: "EdDSA Ed25519"
        case let .other(_, detail): detail
        }
    }

    func evpKey() throws(OpenPGPError) -> EVPKey {
        switch material {
        case let .rsa(n, e): return try .rsa(n: n, e: e, secret: nil)
        case let .ed25519(point): return try .ed25519(publicKey: point)
        case .other: throw .unsupported("signatures by \(algorithmDescription) keys (only RSA and Ed25519)")
        }
    }
}
