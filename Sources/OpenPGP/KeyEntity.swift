/// A transferable key (RFC 4880 §11.1/§11.2): a primary key with its user IDs and their
/// self-signatures. Subkeys are read past; sifter signs and verifies with primary keys, as the
/// SIF reference implementation signs with them and records their fingerprint.
public struct KeyEntity: Sendable {
    public let primary: PublicKey
    let secret: SecretKeyPacket?
    /// User IDs that carry a valid self-signature.
    public let userIDs: [String]
    /// The self-signature that says what the key may do and until when (the primary user
    /// ID's, else the newest); nil when none could be checked.
    let selfSignature: SignaturePacket?
    /// A valid key revocation signature is present.
    public let isRevoked: Bool

    public var fingerprint: [UInt8] { primary.fingerprint }
    public var hasSecret: Bool { secret != nil }
    public var keyIDText: String { primary.keyIDText }
    public var summary: String {
        "\(primary.fingerprintText) (\(primary.algorithmDescription)\(userIDs.first.map { ", \($0)" } ?? ""))"
    }

    /// Why the key cannot stand behind a signature made at `signatureTime`, checked at `now`;
    /// nil when it can.
    func problem(now: UInt32) -> String? {
        if isRevoked { return "the key \(primary.fingerprintText) is revoked" }
        if let selfSignature {
            if let flags = selfSignature.subpackets.keyFlags, flags & 0x02 == 0 {
                return "the key \(primary.fingerprintText) is not certified for signing (key flags 0x\(Hex.lower([flags])))"
            }
            if let lifetime = selfSignature.subpackets.keyLifetime, lifetime != 0,
               UInt64(primary.creationTime) + UInt64(lifetime) <= UInt64(now) {
                return "the key \(primary.fingerprintText) expired"
            }
            if let created = selfSignature.subpackets.creationTime, let lifetime = selfSignature.subpackets.signatureLifetime,
               lifetime != 0, UInt64(created) + UInt64(lifetime) <= UInt64(now) {
                return "the self-signature of key \(primary.fingerprintText) expired"
            }
        }
        return nil
    }

    // MARK: Reading

    /// Every key in `bytes`: armored (one or more blocks) or binary packets.
    public static func read(_ bytes: [UInt8]) throws(OpenPGPError) -> [KeyEntity] {
        let trimmed = bytes.drop(while: { [0x20, 0x09, 0x0A, 0x0D].contains($0) })
        var packets: [Packet] = []
        if trimmed.first.map({ $0 & 0x80 != 0 }) ?? false {
            packets = try Packet.parseAll(bytes)
        } else {
            let blocks = try Armor.decodeAll(bytes).filter { $0.type == "PUBLIC KEY BLOCK" || $0.type == "PRIVATE KEY BLOCK" }
            guard !blocks.isEmpty else { throw .armor("no \"BEGIN PGP PUBLIC KEY BLOCK\" or \"PRIVATE KEY BLOCK\" found") }
            for block in blocks { packets += try Packet.parseAll(block.body) }
        }
        var entities: [KeyEntity] = []
        var index = 0
        while index < packets.count {
            let packet = packets[index]
            guard packet.tag == Packet.publicKeyTag || packet.tag == Packet.secretKeyTag else {
                if [Packet.markerTag, Packet.trustTag].contains(packet.tag) { index += 1; continue }
                throw .malformed("a key file holds a packet of tag \(packet.tag) where a primary key should start")
            }
            var end = index + 1
            while end < packets.count, packets[end].tag != Packet.publicKeyTag, packets[end].tag != Packet.secretKeyTag { end += 1 }
            entities.append(try entity(Array(packets[index..<end])))
            index = end
        }
        guard !entities.isEmpty else { throw .malformed("no key found") }
        return entities
    }

    private static func entity(_ packets: [Packet]) throws(OpenPGPError) -> KeyEntity {
        let first = packets[0]
        let secret = first.tag == Packet.secretKeyTag ? try SecretKeyPacket.parse(first.body) : nil
        let primary: PublicKey
        if let secret { primary = secret.publicKey } else { primary = try PublicKey.parse(first.body).key }
        var userIDs: [String] = []
        var selfSignatures: [(signature: SignaturePacket, userID: String)] = []
        var revoked = false
        var currentUserID: [UInt8]?
        var inSubkey = false
        for packet in packets.dropFirst() {
            switch packet.tag {
            case Packet.userIDTag:
                currentUserID = packet.body
                inSubkey = false
            case Packet.userAttributeTag:
                currentUserID = nil
                inSubkey = false
            case Packet.publicSubkeyTag, Packet.secretSubkeyTag:
                inSubkey = true
                currentUserID = nil
            case Packet.signatureTag:
                // A signature that sifter cannot parse (v3, another version) is one it does not
                // rely on; the key stays readable.
                guard !inSubkey, let signature = try? SignaturePacket.parse(packet.body),
                      signature.issuerKeyID == nil || signature.issuerKeyID == primary.keyID,
                      primary.canSign, let hash = signature.hash
                else { continue }
                if signature.type == .keyRevocation, currentUserID == nil {
                    let hasher = try Hasher(hash)
                    hasher.update(primary.hashedForm)
                    if try signature.verify(hasher, key: primary), signature.subpackets.unknownCritical.isEmpty { revoked = true }
                } else if let userID = currentUserID,
                          let type = signature.type, (0x10...0x13).contains(type.rawValue) {
                    let hasher = try Hasher(hash)
                    hasher.update(primary.hashedForm)
                    var framed: [UInt8] = [0xB4]
                    framed.appendBigEndian(UInt32(userID.count))
                    hasher.update(framed + userID)
                    if try signature.verify(hasher, key: primary), signature.subpackets.unknownCritical.isEmpty {
                        let text = String(decoding: userID, as: UTF8.self)
                        if !userIDs.contains(text) { userIDs.append(text) }
                        selfSignatures.append((signature, text))
                    }
                }
            default:
                continue
            }
        }
        let chosen = selfSignatures.sorted { a, b in
            if a.signature.subpackets.isPrimaryUserID != b.signature.subpackets.isPrimaryUserID { return a.signature.subpackets.isPrimaryUserID }
            return (a.signature.subpackets.creationTime ?? 0) > (b.signature.subpackets.creationTime ?? 0)
        }.first
        return KeyEntity(primary: primary, secret: secret, userIDs: userIDs, selfSignature: chosen?.signature, isRevoked: revoked)
    }
}
