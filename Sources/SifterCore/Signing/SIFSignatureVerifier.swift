import Foundation
import OpenPGP
import SIF

/// What one signature object proved, or why it proved nothing.
public struct SignatureOutcome: Sendable {
    public var id: UInt32
    /// What the signature is linked to: `group 1`, `object 2`.
    public var covers: String
    /// The fingerprint recorded in the descriptor (upper-case hex; empty when absent).
    public var fingerprint: String
    /// The key that made it, when it verified (`FINGERPRINT (RSA 4096-bit, user ID)`).
    public var signer: String?
    public var signatureTime: UInt32?
    /// Objects whose descriptor and data the signature vouches for.
    public var verifiedObjects: [UInt32]
    public var legacy: Bool
    /// nil when the signature verified.
    public var problem: String?
}

/// Checks a SIF's signatures with the rules of the reference implementation's verifier
/// (sylabs/sif v2 `pkg/integrity` `Verifier`, what `apptainer verify` runs): every object
/// not a signature must be in a group; each group must carry a signature; each signature must
/// check against the keyring, its signer must be the fingerprint in its descriptor, it must
/// list exactly the group's objects, and the header, every descriptor and every object must
/// hash as listed. Legacy signatures (Singularity before 3.6, `SIFHASH:` text) are checked
/// only when asked, as with `apptainer verify --legacy-insecure`.
public enum SIFSignatureVerifier {
    public struct Report: Sendable {
        public var outcomes: [SignatureOutcome]
        /// Problems not tied to one signature (an ungrouped object, a group nobody signed).
        public var problems: [String]
        public var passed: Bool { problems.isEmpty && !outcomes.isEmpty && outcomes.allSatisfy { $0.problem == nil } }
    }

    /// Hashes the reference accepts in the signature itself.
    static let signatureHashes: Set<DigestAlgorithm> = [.sha224, .sha256, .sha384, .sha512]

    public static func verify(_ image: SIFImage, keyring: Keyring, now: UInt32, legacy: Bool = false) -> Report {
        let signatures = image.descriptors(matching: [.dataType(.signature)])
        var outcomes: [SignatureOutcome] = []
        var problems: [String] = []
        if !legacy {
            for descriptor in image.descriptors where descriptor.dataType != .signature && descriptor.groupID == nil {
                problems.append("object \(descriptor.id) (\(descriptor.dataType.name)) is in no object group, so no signature can cover it")
            }
        }
        let groups = Set(image.descriptors.compactMap(\.groupID)).sorted()
        for descriptor in signatures {
            let message = (try? image.data(of: descriptor, limit: 1 << 20)).flatMap(ClearSignedMessage.decode)
            let isLegacy = message.map { $0.plaintext.starts(with: Array("SIFHASH:\n".utf8)) } ?? false
            guard isLegacy == legacy else { continue }
            // As the reference: a current signature counts only when linked to a group there is.
            if !legacy, !groups.contains(where: { descriptor.link == .group($0) }) { continue }
            var outcome = SignatureOutcome(id: descriptor.id, covers: describe(descriptor.link), fingerprint: fingerprint(descriptor),
                                           signer: nil, signatureTime: nil, verifiedObjects: [], legacy: isLegacy, problem: nil)
            do {
                guard let message else { throw SignatureProblem("it holds no clear-signed message") }
                try check(descriptor, message: message, in: image, keyring: keyring, now: now, outcome: &outcome)
            } catch {
                outcome.problem = "\(error)"
            }
            outcomes.append(outcome)
        }
        if legacy {
            // As `apptainer verify --legacy-insecure`: the primary partition must be covered.
            if let primary = image.primaryPartition, !outcomes.contains(where: { $0.problem == nil && $0.verifiedObjects.contains(primary.id) }) {
                problems.append("no legacy signature covers the primary partition (object \(primary.id))")
            }
            if outcomes.isEmpty { problems.append("the SIF has no legacy signature") }
        } else {
            for group in groups where !outcomes.contains(where: { $0.covers == "group \(group)" }) {
                let members = image.descriptors(matching: [.group(group)]).map(\.id)
                let legacyOnly = signatures.contains { signature in
                    signature.link == .group(group) || members.contains { signature.link == .object($0) }
                }
                problems.append("object group \(group) has no signature" + (legacyOnly ? " other than legacy ones (Singularity before 3.6; check them with --legacy-insecure)" : ""))
            }
        }
        return Report(outcomes: outcomes, problems: problems)
    }

    private static func check(_ descriptor: SIF.Descriptor, message: ClearSignedMessage, in image: SIFImage, keyring: Keyring,
                              now: UInt32, outcome: inout SignatureOutcome) throws {
        guard case let .signature(hashType, entity)? = descriptor.metadata else { throw SignatureProblem("its descriptor holds no signature metadata") }
        let verified = try keyring.verify(signed: message.signedText, signatures: message.signature.body, hashes: signatureHashes, now: now)
        outcome.signer = verified.signer.summary
        outcome.signatureTime = verified.creationTime
        let recorded = Array(entity.prefix(20))
        if recorded.contains(where: { $0 != 0 }), recorded != verified.signer.fingerprint {
            throw SignatureProblem("signed by \(verified.signer.primary.fingerprintText), but its descriptor names \(Hex.upper(recorded))")
        }
        if outcome.legacy {
            try checkLegacy(descriptor, plaintext: message.plaintext, hashType: hashType, in: image, outcome: &outcome)
            return
        }
        guard case let .group(group)? = descriptor.link else {
            throw SignatureProblem("it is linked to \(describe(descriptor.link)), not to an object group")
        }
        let metadata = try SignedMetadata.decode(message.plaintext.last == 0x0A ? Array(message.plaintext.dropLast()) : message.plaintext)
        let members = image.descriptors(matching: [.group(group)]).sorted { $0.id < $1.id }
        guard let lowest = members.first?.id else { throw SignatureProblem("object group \(group) is empty") }
        let signedIDs = metadata.objects.map { lowest + $0.relativeID }
        for member in members where !signedIDs.contains(member.id) {
            throw SignatureProblem("object \(member.id) (\(member.dataType.name)) is in group \(group) but not signed: added after signing")
        }
        for id in signedIDs where !members.contains(where: { $0.id == id }) {
            throw SignatureProblem("signed object \(id) is no longer in group \(group): removed after signing")
        }
        let headerValue = try metadata.headerDigest.algorithm.hash(SignedMetadata.headerIntegrityBytes(image.header))
        guard headerValue == metadata.headerDigest.value else {
            throw SignatureProblem("the SIF header (launch script, magic, version or ID) changed after signing")
        }
        for member in members {
            guard let entry = metadata.objects.first(where: { lowest + $0.relativeID == member.id }) else { continue }
            let relative = SignedMetadata.relativeID(of: member, in: image)
            let descriptorValue = try entry.descriptorDigest.algorithm.hash(SignedMetadata.descriptorIntegrityBytes(member, relativeID: relative))
            guard descriptorValue == entry.descriptorDigest.value else {
                throw SignatureProblem("the descriptor of object \(member.id) (\(member.dataType.name)) changed after signing")
            }
            let dataValue = try SignedMetadata.dataDigest(image, member, entry.objectDigest.algorithm)
            guard dataValue == entry.objectDigest.value else {
                throw SignatureProblem("the data of object \(member.id) (\(member.dataType.name)) changed after signing")
            }
            outcome.verifiedObjects.append(member.id)
        }
    }

    /// A legacy signature signs `SIFHASH:\n<hex>`: the digest (of the descriptor's hash type)
    /// of one object's data, or of a group's objects' data one after the other.
    private static func checkLegacy(_ descriptor: SIF.Descriptor, plaintext: [UInt8], hashType: HashType, in image: SIFImage,
                                    outcome: inout SignatureOutcome) throws {
        let algorithm: DigestAlgorithm
        switch hashType {
        case .sha256: algorithm = .sha256
        case .sha384: algorithm = .sha384
        case .sha512: algorithm = .sha512
        default: throw SignatureProblem("its hash type \(hashType) is not supported")
        }
        var text = plaintext.dropFirst("SIFHASH:\n".utf8.count)
        if text.last == 0x0A { text = text.dropLast() }
        guard let recorded = Hex.parse(String(decoding: text, as: UTF8.self)), recorded.count == algorithm.byteCount else {
            throw SignatureProblem("its SIFHASH text is not a \(algorithm.rawValue) digest")
        }
        let covered: [SIF.Descriptor]
        switch descriptor.link {
        case let .group(group)?: covered = image.descriptors(matching: [.group(group)]).sorted { $0.id < $1.id }
        case let .object(id)?: covered = image.descriptors(matching: [.id(id)])
        case nil: throw SignatureProblem("it is linked to nothing")
        }
        guard !covered.isEmpty else { throw SignatureProblem("it is linked to \(describe(descriptor.link)), which is not in the SIF") }
        let hasher = try Hasher(algorithm)
        for object in covered {
            var reader = image.reader(for: object)
            try reader.forEachChunk { hasher.update($0) }
        }
        guard try hasher.finalize() == recorded else {
            throw SignatureProblem("the data of \(describe(descriptor.link)) changed after signing")
        }
        outcome.verifiedObjects = covered.map(\.id)
    }

    static func describe(_ link: ObjectLink?) -> String {
        switch link {
        case let .group(group)?: "group \(group)"
        case let .object(id)?: "object \(id)"
        case nil: "nothing"
        }
    }

    /// The signer fingerprint a descriptor records (the first 20 bytes of its entity field).
    public static func fingerprint(_ descriptor: SIF.Descriptor) -> String {
        guard case let .signature(_, entity)? = descriptor.metadata else { return "" }
        let bytes = Array(entity.prefix(20))
        return bytes.allSatisfy { $0 == 0 } ? "" : Hex.upper(bytes)
    }
}

struct SignatureProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
