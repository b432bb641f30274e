/// Signature types sifter makes or checks (RFC 4880 §5.2.1).
public enum SignatureType: UInt8, Sendable {
    case binary = 0x00
    case text = 0x01
    case genericCertification = 0x10
    case personaCertification = 0x11
    case casualCertification = 0x12
    case positiveCertification = 0x13
    case subkeyBinding = 0x18
    case primaryKeyBinding = 0x19
    case directKey = 0x1F
    case keyRevocation = 0x20
    case subkeyRevocation = 0x28
    case certificationRevocation = 0x30
}

/// A version 4 signature packet (RFC 4880 §5.2.3), hashed and unhashed subpacket areas kept
/// as stored so that the hash is computed over exactly the signed bytes.
public struct SignaturePacket: Sendable, Equatable {
    public let typeID: UInt8
    public let algorithmID: UInt8
    public let hashID: UInt8
    let hashedArea: [UInt8]
    let unhashedArea: [UInt8]
    let hashPrefix: [UInt8]
    /// RSA: one MPI; EdDSA: r and s.
    let values: [[UInt8]]
    public let subpackets: Subpackets

    public var type: SignatureType? { SignatureType(rawValue: typeID) }
    public var hash: DigestAlgorithm? { DigestAlgorithm(openPGPID: hashID) }

    /// What the subpacket areas say, hashed ones first; issuer data may be unhashed.
    public struct Subpackets: Sendable, Equatable {
        public var creationTime: UInt32?
        public var signatureLifetime: UInt32?
        public var keyLifetime: UInt32?
        public var issuerKeyID: [UInt8]?
        public var issuerFingerprint: [UInt8]?
        public var keyFlags: UInt8?
        public var isPrimaryUserID = false
        /// Critical subpackets of types sifter does not know: the signature must be refused.
        public var unknownCritical: [UInt8] = []
    }

    static func parse(_ body: [UInt8]) throws(OpenPGPError) -> SignaturePacket {
        var reader = BigEndianReader(body)
        let version = try reader.byte("a signature's version")
        guard version == 4 else { throw .unsupported("version \(version) signatures (only version 4)") }
        let type = try reader.byte("a signature's type")
        let algorithm = try reader.byte("a signature's algorithm")
        let hash = try reader.byte("a signature's hash algorithm")
        let hashedLength = Int(try reader.uint16("a signature's hashed area length"))
        let hashed = try reader.read(hashedLength, "a signature's hashed subpackets")
        let unhashedLength = Int(try reader.uint16("a signature's unhashed area length"))
        let unhashed = try reader.read(unhashedLength, "a signature's unhashed subpackets")
        let prefix = try reader.read(2, "a signature's hash prefix")
        var values: [[UInt8]] = []
        while !reader.isAtEnd { values.append(try reader.mpi("a signature value")) }
        var subpackets = Subpackets()
        try Self.readSubpackets(hashed, hashed: true, into: &subpackets)
        try Self.readSubpackets(unhashed, hashed: false, into: &subpackets)
        return SignaturePacket(typeID: type, algorithmID: algorithm, hashID: hash, hashedArea: hashed, unhashedArea: unhashed,
                               hashPrefix: prefix, values: values, subpackets: subpackets)
    }

    private static func readSubpackets(_ area: [UInt8], hashed: Bool, into found: inout Subpackets) throws(OpenPGPError) {
        var reader = BigEndianReader(area)
        while !reader.isAtEnd {
            let first = Int(try reader.byte("a subpacket length"))
            let length: Int
            switch first {
            case 0..<192: length = first
            case 192..<255: length = (first - 192) << 8 + Int(try reader.byte("a subpacket length")) + 192
            default: length = Int(try reader.uint32("a subpacket length"))
            }
            guard length >= 1 else { throw .malformed("an empty signature subpacket") }
            let typeByte = try reader.byte("a subpacket type")
            let data = try reader.read(length - 1, "a subpacket of type \(typeByte & 0x7F)")
            let type = typeByte & 0x7F
            let critical = typeByte & 0x80 != 0
            func uint32() throws(OpenPGPError) -> UInt32 {
                guard data.count == 4 else { throw .malformed("subpacket \(type) is \(data.count) bytes, not 4") }
                return data.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            }
            // Only hashed subpackets are signed; an unhashed one can say where the key is
            // (issuer), never what the signature means.
            switch (type, hashed) {
            case (2, true): found.creationTime = try uint32()
            case (3, true): found.signatureLifetime = try uint32()
            case (9, true): found.keyLifetime = try uint32()
            case (16, _):
                guard data.count == 8 else { throw .malformed("an issuer subpacket of \(data.count) bytes") }
                if found.issuerKeyID == nil || hashed { found.issuerKeyID = data }
            case (33, _):
                if data.first == 4, data.count == 21, found.issuerFingerprint == nil || hashed { found.issuerFingerprint = Array(data.dropFirst()) }
            case (27, true): found.keyFlags = data.first ?? 0
            case (25, true): found.isPrimaryUserID = data.first.map { $0 != 0 } ?? false
            case (4, _), (5, _), (6, _), (7, _), (11, _), (12, _), (20, _), (21, _), (22, _), (23, _), (24, _), (26, _),
                 (28, _), (29, _), (30, _), (31, _), (32, _), (34, _), (2, false), (3, false), (9, false), (27, false), (25, false):
                break
            default:
                if critical && hashed { found.unknownCritical.append(type) }
            }
        }
    }

    /// The key ID the signature names, from the issuer or the issuer fingerprint subpacket.
    public var issuerKeyID: [UInt8]? { subpackets.issuerKeyID ?? subpackets.issuerFingerprint.map { Array($0.suffix(8)) } }

    /// The v4 hash trailer: version through hashed area, then 0x04 0xFF and its length.
    var trailer: [UInt8] {
        var hashedPart: [UInt8] = [4, typeID, algorithmID, hashID]
        hashedPart.appendBigEndian(UInt16(hashedArea.count))
        hashedPart += hashedArea
        var out = hashedPart
        out += [0x04, 0xFF]
        out.appendBigEndian(UInt32(hashedPart.count))
        return out
    }

    public var body: [UInt8] {
        var out: [UInt8] = [4, typeID, algorithmID, hashID]
        out.appendBigEndian(UInt16(hashedArea.count))
        out += hashedArea
        out.appendBigEndian(UInt16(unhashedArea.count))
        out += unhashedArea
        out += hashPrefix
        for value in values { out.appendMPI(value) }
        return out
    }

    // MARK: Making and checking

    /// The digest a signature of this packet's header covers, given the signed data already
    /// fed into `hasher`.
    func digest(after hasher: Hasher) throws(OpenPGPError) -> [UInt8] {
        hasher.update(trailer)
        return try hasher.finalize()
    }

    /// Whether `key` made this signature over data whose hashing `hasher` holds.
    func verify(_ hasher: Hasher, key: PublicKey) throws(OpenPGPError) -> Bool {
        guard algorithmID == key.algorithmID else { return false }
        let digest = try digest(after: hasher)
        guard digest.prefix(2).elementsEqual(hashPrefix) else { return false }
        switch key.material {
        case .rsa:
            guard values.count == 1, let hash else { return false }
            return try key.evpKey().rsaVerify(digest: digest, algorithm: hash, signature: values[0])
        case .ed25519:
            guard values.count == 2, values[0].count <= 32, values[1].count <= 32 else { return false }
            let r = [UInt8](repeating: 0, count: 32 - values[0].count) + values[0]
            let s = [UInt8](repeating: 0, count: 32 - values[1].count) + values[1]
            return try key.evpKey().ed25519Verify(message: digest, signature: r + s)
        case .other:
            throw .unsupported("signatures by \(key.algorithmDescription) keys (only RSA and Ed25519)")
        }
    }

    /// A signature as the reference implementation (ProtonMail go-crypto `Signature.Sign`)
    /// writes it: hashed creation time, issuer key ID (critical), issuer fingerprint; nothing
    /// unhashed. RSA PKCS#1 v1.5 and Ed25519 are deterministic, so the same key, data and
    /// time give the same bytes.
    static func make(type: SignatureType, hash: DigestAlgorithm, time: UInt32, key: PublicKey, secret: EVPKey,
                     data hasher: Hasher) throws(OpenPGPError) -> SignaturePacket {
        guard let hashID = hash.openPGPID else { throw .unsupported("signing with \(hash.rawValue)") }
        var area: [UInt8] = [5, 2]
        area.appendBigEndian(time)
        area += [9, 0x80 | 16] + key.keyID
        area += [22, 33, 4] + key.fingerprint
        var unsigned = SignaturePacket(typeID: type.rawValue, algorithmID: key.algorithmID, hashID: hashID, hashedArea: area,
                                       unhashedArea: [], hashPrefix: [], values: [], subpackets: Subpackets())
        let digest = try unsigned.digest(after: hasher)
        let values: [[UInt8]]
        switch key.material {
        case .rsa:
            values = [try secret.rsaSign(digest: digest, algorithm: hash)]
        case .ed25519:
            let signature = try secret.ed25519Sign(message: digest)
            values = [Array(signature.prefix(32)), Array(signature.suffix(32))]
        case .other:
            throw .unsupported("signing with \(key.algorithmDescription) keys (only RSA and Ed25519)")
        }
        unsigned = SignaturePacket(typeID: type.rawValue, algorithmID: key.algorithmID, hashID: hashID, hashedArea: area,
                                   unhashedArea: [], hashPrefix: Array(digest.prefix(2)), values: values, subpackets: unsigned.subpackets)
        return try parse(unsigned.body)
    }
}
