import Foundation
import OpenPGP
import SIF

/// The document a SIF signature clear-signs (sylabs/sif v2 `pkg/integrity/metadata.go`):
/// `{"version":1,"header":{"digest":…},"objects":[{"relativeId":…,"descriptorDigest":…,
/// "objectDigest":…},…]}`, compact, in that key order, digests written `name:hex`.
///
/// The header digest covers launch script, magic, version and ID (61 bytes: arch, times and
/// offsets are left out); a descriptor digest covers every field but offset, group, padded
/// size and modification time, with the ID made relative to the group's lowest ID; an object
/// digest covers the data. A signed SIF can so be re-laid-out, but not changed.
struct SignedMetadata: Equatable {
    struct Digest: Equatable {
        var algorithm: DigestAlgorithm
        var value: [UInt8]

        /// `sha256:<hex>`, the reference's spelling (`sha512_224`, with an underscore).
        var text: String { "\(algorithm.rawValue):\(Hex.lower(value))" }

        init(algorithm: DigestAlgorithm, value: [UInt8]) {
            self.algorithm = algorithm
            self.value = value
        }

        /// The algorithms the reference accepts in metadata; SHA-1 is not one of them.
        static let accepted: [DigestAlgorithm] = [.sha224, .sha256, .sha384, .sha512, .sha512_224, .sha512_256]

        init?(text: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let algorithm = Self.accepted.first(where: { $0.rawValue == parts[0] }),
                  let value = Hex.parse(String(parts[1])), value.count == algorithm.byteCount else { return nil }
            self.init(algorithm: algorithm, value: value)
        }
    }

    struct Object: Equatable {
        var relativeID: UInt32
        var descriptorDigest: Digest
        var objectDigest: Digest
    }

    var headerDigest: Digest
    var objects: [Object]

    /// The metadata of `descriptors` (all in one group) as they are now in `image`.
    static func measure(_ image: SIFImage, descriptors: [SIF.Descriptor], algorithm: DigestAlgorithm = .sha256) throws -> SignedMetadata {
        let header = Digest(algorithm: algorithm, value: try algorithm.hash(headerIntegrityBytes(image.header)))
        let objects = try descriptors.sorted { $0.id < $1.id }.map { descriptor in
            let relative = relativeID(of: descriptor, in: image)
            return Object(relativeID: relative,
                          descriptorDigest: Digest(algorithm: algorithm, value: try algorithm.hash(descriptorIntegrityBytes(descriptor, relativeID: relative))),
                          objectDigest: Digest(algorithm: algorithm, value: try dataDigest(image, descriptor, algorithm)))
        }
        return SignedMetadata(headerDigest: header, objects: objects)
    }

    static func headerIntegrityBytes(_ header: Header) -> [UInt8] {
        padded(header.launchScriptBytes, Layout.launchScriptLength) + padded(header.magic, 10) + padded(header.versionBytes, 3) + padded(header.id, 16)
    }

    /// The 557 bytes of a descriptor the reference's `GetIntegrityReader` yields.
    static func descriptorIntegrityBytes(_ d: SIF.Descriptor, relativeID: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        func little<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out += $0 } }
        little(d.dataType.rawValue)
        out.append(d.used ? 1 : 0)
        little(relativeID)
        little(d.rawLinkedID)
        little(d.size)
        little(d.createdAt)
        little(d.uid)
        little(d.gid)
        return out + padded(d.nameBytes, Layout.nameLength) + padded(d.extra, Layout.extraLength)
    }

    /// The object's ID minus the lowest ID among the live objects stored with the same group
    /// field (the reference's `minIDs`, keyed by the raw group, "no group" included).
    static func relativeID(of descriptor: SIF.Descriptor, in image: SIFImage) -> UInt32 {
        let lowest = image.descriptors.filter { $0.rawGroupID == descriptor.rawGroupID }.map(\.id).min() ?? descriptor.id
        return descriptor.id - lowest
    }

    /// The digest of an object's data, streamed.
    static func dataDigest(_ image: SIFImage, _ descriptor: SIF.Descriptor, _ algorithm: DigestAlgorithm) throws -> [UInt8] {
        let hasher = try Hasher(algorithm)
        var reader = image.reader(for: descriptor)
        try reader.forEachChunk { hasher.update($0) }
        return try hasher.finalize()
    }

    private static func padded(_ bytes: [UInt8], _ width: Int) -> [UInt8] {
        Array(bytes.prefix(width)) + [UInt8](repeating: 0, count: max(0, width - bytes.count))
    }

    // MARK: JSON

    /// Go's `json.Marshal` of the reference's `imageMetadata`: no spaces, struct order.
    var json: [UInt8] {
        let objects = self.objects.map {
            "{\"relativeId\":\($0.relativeID),\"descriptorDigest\":\"\($0.descriptorDigest.text)\",\"objectDigest\":\"\($0.objectDigest.text)\"}"
        }
        // The reference's objects slice is nil for no objects, which Go writes as null.
        let list = objects.isEmpty ? "null" : "[" + objects.joined(separator: ",") + "]"
        return Array("{\"version\":1,\"header\":{\"digest\":\"\(headerDigest.text)\"},\"objects\":\(list)}".utf8)
    }

    enum DecodeError: Error, CustomStringConvertible {
        case invalid(String)
        var description: String {
            switch self { case let .invalid(reason): "the signed metadata is not valid: \(reason)" }
        }
    }

    /// Reads the signed JSON back; the version must be 1 and every digest well formed.
    static func decode(_ bytes: [UInt8]) throws -> SignedMetadata {
        guard let document = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw DecodeError.invalid("not a JSON object")
        }
        guard let version = document["version"] as? Int, version == 1 else {
            throw DecodeError.invalid("version \(document["version"].map { "\($0)" } ?? "missing"), only 1 is known")
        }
        guard let header = document["header"] as? [String: Any], let headerText = header["digest"] as? String,
              let headerDigest = Digest(text: headerText) else { throw DecodeError.invalid("no valid header digest") }
        var objects: [Object] = []
        for case let entry as [String: Any] in (document["objects"] as? [Any]) ?? [] {
            guard let relative = entry["relativeId"] as? Int, relative >= 0, relative <= Int(UInt32.max),
                  let descriptorText = entry["descriptorDigest"] as? String, let descriptorDigest = Digest(text: descriptorText),
                  let objectText = entry["objectDigest"] as? String, let objectDigest = Digest(text: objectText)
            else { throw DecodeError.invalid("an object entry is malformed") }
            objects.append(Object(relativeID: UInt32(relative), descriptorDigest: descriptorDigest, objectDigest: objectDigest))
        }
        return SignedMetadata(headerDigest: headerDigest, objects: objects)
    }
}
