import Synchronization

/// A primary key unlocked for signing. The secret lives only in the OpenSSL key inside;
/// nothing here can print or serialise it.
public final class SigningKey: Sendable {
    public let entity: KeyEntity
    private let secret: Mutex<EVPKey>

    public var fingerprint: [UInt8] { entity.fingerprint }
    public var publicKey: PublicKey { entity.primary }

    private init(entity: KeyEntity, secret: consuming sending EVPKey) {
        self.entity = entity
        self.secret = Mutex(secret)
    }

    /// The one secret key in `keyFile` (armored or binary), unlocked. `passphrase` is asked
    /// for only when the key is protected, and wiped once used. `now` (Unix seconds) is when
    /// the key must be valid.
    public static func load(_ keyFile: [UInt8], now: UInt32, passphrase: () throws -> [UInt8]?) throws -> SigningKey {
        let entities = try KeyEntity.read(keyFile).filter(\.hasSecret)
        guard let entity = entities.first else {
            throw OpenPGPError.unusableKey("the key file holds no secret key (export it with `gpg --export-secret-keys --armor`)")
        }
        guard entities.count == 1 else {
            throw OpenPGPError.unusableKey("the key file holds \(entities.count) secret keys (\(entities.map(\.keyIDText).joined(separator: ", "))); give a file with one")
        }
        guard let packet = entity.secret else { throw OpenPGPError.unusableKey("no secret key") }
        guard entity.primary.canSign else {
            throw OpenPGPError.unsupported("signing with \(entity.primary.algorithmDescription) keys (only RSA and Ed25519)")
        }
        if let problem = entity.problem(now: now) { throw OpenPGPError.unusableKey(problem) }
        var secret: [UInt8]? = packet.isProtected ? try passphrase() : nil
        defer { if secret != nil { wipe(&secret!) } }
        let material = try packet.unlock(passphrase: secret)
        let key = try material.evpKey(for: entity.primary)
        // A secret that does not match its public key would give signatures nobody can check.
        let probe = try Hasher(.sha256)
        probe.update(Array("sifter key check".utf8))
        let check = try SignaturePacket.make(type: .binary, hash: .sha256, time: 0, key: entity.primary, secret: key, data: probe)
        let again = try Hasher(.sha256)
        again.update(Array("sifter key check".utf8))
        guard try check.verify(again, key: entity.primary) else {
            throw OpenPGPError.malformed("the secret part of key \(entity.keyIDText) does not belong to its public key")
        }
        return SigningKey(entity: entity, secret: key)
    }

    /// `text` clear-signed at `time` (Unix seconds), as the reference implementation writes
    /// it: `Hash:` header, dash-escaped text, one text signature (type 0x01) in armor.
    public func clearSign(_ text: [UInt8], time: UInt32, hash: DigestAlgorithm = .sha256) throws(OpenPGPError) -> [UInt8] {
        guard let name = hash.armorName, hash != .sha1 else { throw .unsupported("clear-signing with \(hash.rawValue)") }
        let (body, signed) = ClearSignedMessage.frame(text)
        let primary = entity.primary
        let signature = try secret.withLock { key throws(OpenPGPError) in
            let hasher = try Hasher(hash)
            hasher.update(signed)
            return try SignaturePacket.make(type: .text, hash: hash, time: time, key: primary, secret: key, data: hasher)
        }
        var out = Array("-----BEGIN PGP SIGNED MESSAGE-----\nHash: \(name)\n\n".utf8)
        out += body
        out += Armor.encode(ArmorBlock(type: "SIGNATURE", body: Packet(tag: Packet.signatureTag, body: signature.body).serialized()))
        return out
    }
}

/// Public keys to check signatures against.
public struct Keyring: Sendable {
    public let entities: [KeyEntity]

    public init(entities: [KeyEntity]) { self.entities = entities }

    /// The keys of one or more key files (public or secret keys: a secret key file holds the
    /// public key too).
    public init(keyFiles: [[UInt8]]) throws(OpenPGPError) {
        var all: [KeyEntity] = []
        for file in keyFiles { all += try KeyEntity.read(file) }
        entities = all
    }

    /// A signature that checked out, and who made it.
    public struct Verified: Sendable {
        public let signer: KeyEntity
        public let signature: SignaturePacket
        public var creationTime: UInt32? { signature.subpackets.creationTime }
    }

    /// Checks `signatures` (the body of a `PGP SIGNATURE` block) over `signed` as the reference
    /// implementation does (go-crypto `CheckDetachedSignatureAndHash`): the first signature
    /// whose issuer is in the keyring is the one checked; its hash must be one of `hashes`;
    /// then the key must not be revoked or expired and the signature not expired at `now`.
    public func verify(signed: [UInt8], signatures: [UInt8], hashes: Set<DigestAlgorithm>, now: UInt32) throws(OpenPGPError) -> Verified {
        var issuers: [String] = []
        for packet in try Packet.parseAll(signatures) {
            guard packet.tag == Packet.signatureTag else { throw .malformed("a packet of tag \(packet.tag) among the signatures") }
            let signature = try SignaturePacket.parse(packet.body)
            guard let issuer = signature.issuerKeyID else { throw .malformed("a signature without an issuer") }
            guard let hash = signature.hash, hashes.contains(hash) else {
                throw .badSignature("the signature uses hash algorithm \(signature.hash?.rawValue ?? "\(signature.hashID)"), not one of \(hashes.map(\.rawValue).sorted().joined(separator: ", "))")
            }
            guard let signer = entities.first(where: { $0.primary.keyID == issuer }) else {
                issuers.append(Hex.upper(issuer))
                continue
            }
            if let fingerprint = signature.subpackets.issuerFingerprint, fingerprint != signer.fingerprint {
                issuers.append(Hex.upper(fingerprint))
                continue
            }
            guard signature.type == .binary || signature.type == .text else {
                throw .badSignature("a signature of type 0x\(Hex.lower([signature.typeID])) is no document signature")
            }
            guard signature.subpackets.unknownCritical.isEmpty else {
                throw .badSignature("the signature has critical subpackets sifter does not know (\(signature.subpackets.unknownCritical.map(String.init).joined(separator: ", ")))")
            }
            let hasher = try Hasher(hash)
            hasher.update(signed)
            guard try signature.verify(hasher, key: signer.primary) else {
                throw .badSignature("the signature by \(signer.primary.fingerprintText) does not match the signed text")
            }
            if let problem = signer.problem(now: now) { throw .badSignature(problem) }
            guard let created = signature.subpackets.creationTime else { throw .badSignature("the signature has no creation time") }
            if created > now { throw .badSignature("the signature was made in the future (\(created))") }
            if let lifetime = signature.subpackets.signatureLifetime, lifetime != 0, UInt64(created) + UInt64(lifetime) <= UInt64(now) {
                throw .badSignature("the signature expired")
            }
            return Verified(signer: signer, signature: signature)
        }
        let named = issuers.isEmpty ? "no key" : "key \(issuers.joined(separator: ", "))"
        throw .badSignature("signed by \(named), which is not among the given keys")
    }
}
