import Foundation
import OpenPGP
import SIF

/// How `sifter sign` stamps what it adds.
public struct SignOptions: Sendable {
    /// The signature's creation time (Unix seconds).
    public var signatureTime: Int64
    /// The time written into the new descriptors and the header's modification time; nil
    /// takes `signatureTime`. `Layout.deterministicTime` is the reference's deterministic mode.
    public var sifTime: Int64?
    /// The groups to sign; empty signs every group, one signature each (the reference default).
    public var groups: [UInt32] = []

    public init(signatureTime: Int64, sifTime: Int64? = nil) {
        self.signatureTime = signatureTime
        self.sifTime = sifTime
    }
}

/// One signature object added.
public struct AddedSignature: Sendable {
    public var id: UInt32
    public var group: UInt32
    public var objects: [UInt32]
    public var fingerprint: String
}

/// Adds OpenPGP signatures to a SIF exactly as the reference implementation does (sylabs/sif
/// v2 `pkg/integrity` `Signer`, what `apptainer sign` runs): per object group, the metadata of
/// every object in it, clear-signed with SHA-256, stored in a signature object in no group,
/// linked to the group, its descriptor naming SHA-256 and the signer's v4 fingerprint.
public enum SIFSigner {
    public static func sign(_ image: SIFImage, with key: SigningKey, options: SignOptions) throws -> [AddedSignature] {
        let present = Set(image.descriptors.compactMap(\.groupID))
        let groups = options.groups.isEmpty ? present.sorted() : options.groups
        guard !groups.isEmpty else { throw SigningError.nothingToSign(path: image.path) }
        guard let signatureTime = UInt32(exactly: options.signatureTime) else {
            throw SigningError.invalidTime(options.signatureTime)
        }
        var added: [AddedSignature] = []
        for group in groups {
            let members = image.descriptors(matching: [.group(group)])
            guard !members.isEmpty else { throw SigningError.noSuchGroup(path: image.path, group: group) }
            let metadata = try SignedMetadata.measure(image, descriptors: members)
            let message = try key.clearSign(metadata.json, time: signatureTime)
            let object = try ObjectInput(.signature, source: .bytes(message), group: nil, link: .group(group),
                                         metadata: .signature(hash: .sha256, entity: key.fingerprint))
            let descriptor = try image.add(object, time: options.sifTime ?? options.signatureTime)
            added.append(AddedSignature(id: descriptor.id, group: group, objects: members.map(\.id).sorted(),
                                        fingerprint: key.publicKey.fingerprintText))
        }
        return added
    }

    /// Signs the SIF at `path` in place, as `apptainer sign` does, and syncs it.
    public static func sign(path: String, with key: SigningKey, options: SignOptions) throws -> [AddedSignature] {
        let image = try SIFImage.load(path: path, writable: true)
        let added: [AddedSignature]
        do {
            added = try sign(image, with: key, options: options)
        } catch {
            try? image.close()
            throw error
        }
        try image.close()
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            defer { close(fd) }
            guard fsync(fd) == 0 else { throw SifterError.io(path: path, operation: "fsync", reason: String(cString: strerror(errno))) }
        }
        return added
    }
}

/// Why a SIF could not be signed or its signatures not be checked.
public enum SigningError: Error, Equatable, Sendable, CustomStringConvertible {
    case nothingToSign(path: String)
    case noSuchGroup(path: String, group: UInt32)
    case invalidTime(Int64)
    /// A key file that cannot be read (missing, unreadable, not a regular file).
    case keyFile(path: String, reason: String)
    /// A key file whose content is no usable OpenPGP key data.
    case keyFileContent(path: String, reason: String)

    public var description: String {
        switch self {
        case let .nothingToSign(path): "\(path) has no object in a group, so there is nothing to sign"
        case let .noSuchGroup(path, group): "\(path) has no object group \(group)"
        case let .invalidTime(time): "signature time \(time) is outside 1970–2106"
        case let .keyFile(path, reason): "cannot read the key file \(path): \(reason)"
        case let .keyFileContent(path, reason): "the key file \(path): \(reason)"
        }
    }
}
