import Foundation
import Hashing
import SIF

/// `sifter-integrity.json`: the sha256 and descriptor fields of every object a build wrote, so
/// that `sifter verify` can prove, offline, that no byte of the SIF changed since.
///
/// It is the last object of a built SIF, placed after the partition, because the partition's
/// digest is known only once mksquashfs has finished and the objects before the partition have
/// been written around it. Appending never moves the partition.
///
/// It cannot hash itself, so the document ends with `"selfSHA256"`, the sha256 of every byte
/// before that member: damage to the record is then reported as damage to the record, not
/// blamed on the object whose recorded digest happened to be hit.
public struct IntegrityRecord: Sendable, Equatable {
    public static let objectName = "sifter-integrity.json"
    public static let formatVersion: Int64 = 1
    static let selfMarker = Array(",\"selfSHA256\":\"".utf8)

    /// The header fields fixed at build time. The modification time, free slot count and data
    /// size are left out: signing a SIF (`apptainer sign`) changes them and nothing else.
    public struct HeaderFields: Sendable, Equatable, Codable {
        public var launchScript: String
        public var id: String
        public var arch: String
        public var createdAt: Int64
        public var descriptorsTotal: Int64
        public var descriptorsOffset: Int64
        public var dataOffset: Int64
    }

    /// One object: its data digest and every field of its descriptor, so that a changed byte
    /// anywhere in the 585-byte descriptor shows up as a named field.
    public struct Object: Sendable, Equatable, Codable {
        public var id: UInt32
        public var name: String
        public var type: String
        public var typeCode: Int32
        public var group: UInt32
        public var link: UInt32
        public var offset: Int64
        public var size: Int64
        public var sizeWithPadding: Int64
        public var createdAt: Int64
        public var modifiedAt: Int64
        public var uid: Int64
        public var gid: Int64
        /// The descriptor's type-specific bytes, hex, trailing zeros dropped.
        public var extra: String
        public var sha256: String
    }

    public var header: HeaderFields
    public var objects: [Object]

    public init(header: HeaderFields, objects: [Object]) {
        self.header = header
        self.objects = objects
    }

    // MARK: Measuring

    /// Reads `image`'s header and hashes every live object from the file at `image.path`,
    /// streaming (a partition is never held in memory). `excluding` leaves out objects by ID.
    public static func measure(_ image: SIFImage, excluding: Set<UInt32> = []) throws -> IntegrityRecord {
        let fd = open(image.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SifterError.io(path: image.path, operation: "open", reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let objects = try image.descriptors.filter { !excluding.contains($0.id) }.map { descriptor in
            let digest = try SHA256.hash(fileDescriptor: fd, offset: descriptor.offset, length: descriptor.size)
            return fields(of: descriptor, sha256: digest.hex)
        }
        return IntegrityRecord(header: fields(of: image.header), objects: objects)
    }

    static func fields(of header: Header) -> HeaderFields {
        HeaderFields(launchScript: header.launchScript, id: header.idString, arch: header.arch.goName,
                     createdAt: header.createdAt, descriptorsTotal: header.descriptorsTotal,
                     descriptorsOffset: header.descriptorsOffset, dataOffset: header.dataOffset)
    }

    static func fields(of d: SIF.Descriptor, sha256: String) -> Object {
        Object(id: d.id, name: d.name, type: d.dataType.name, typeCode: d.dataType.rawValue, group: d.rawGroupID,
               link: d.rawLinkedID, offset: d.offset, size: d.size, sizeWithPadding: d.sizeWithPadding,
               createdAt: d.createdAt, modifiedAt: d.modifiedAt, uid: d.uid, gid: d.gid,
               extra: hex(Array(d.extra.reversed().drop(while: { $0 == 0 }).reversed())), sha256: sha256)
    }

    /// Builder hook: measures the finished objects of `image` (open read-write) and appends the
    /// record after the last of them, stamped with the build's fixed `time` so that the same
    /// input still gives the same bytes.
    @discardableResult
    public static func append(to image: SIFImage, time: Int64) throws -> SIF.Descriptor {
        let record = try measure(image)
        let object = try ObjectInput(.genericJSON, source: .bytes(try record.encoded()), name: objectName, time: time)
        return try image.add(object, time: time)
    }

    // MARK: Coding

    /// Compact JSON, keys in a fixed order, ending with the self digest.
    public func encoded() throws -> [UInt8] {
        let header: [(String, JSONValue)] = [
            ("launchScript", .string(self.header.launchScript)), ("id", .string(self.header.id)),
            ("arch", .string(self.header.arch)), ("createdAt", .int(self.header.createdAt)),
            ("descriptorsTotal", .int(self.header.descriptorsTotal)),
            ("descriptorsOffset", .int(self.header.descriptorsOffset)), ("dataOffset", .int(self.header.dataOffset)),
        ]
        let objects: [JSONValue] = self.objects.map { o in
            .object([
                ("id", .int(Int64(o.id))), ("name", .string(o.name)), ("type", .string(o.type)),
                ("typeCode", .int(Int64(o.typeCode))), ("group", .int(Int64(o.group))), ("link", .int(Int64(o.link))),
                ("offset", .int(o.offset)), ("size", .int(o.size)), ("sizeWithPadding", .int(o.sizeWithPadding)),
                ("createdAt", .int(o.createdAt)), ("modifiedAt", .int(o.modifiedAt)), ("uid", .int(o.uid)),
                ("gid", .int(o.gid)), ("extra", .string(o.extra)), ("sha256", .string(o.sha256)),
            ])
        }
        let body = JSONValue.object([
            ("version", .int(Self.formatVersion)), ("algorithm", .string("sha256")),
            ("header", .object(header)), ("objects", .array(objects)),
        ]).rendered(indentString: "")
        // Drop the closing brace, then append the digest of everything before the marker.
        let prefix = Array(body.utf8.dropLast())
        let digest = try SHA256.hash(prefix).hex
        return prefix + Self.selfMarker + Array(digest.utf8) + Array("\"}".utf8)
    }

    /// Why a stored record cannot be used.
    public enum DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
        case damaged(String)
        case unsupportedVersion(Int64)

        public var description: String {
            switch self {
            case let .damaged(reason): "the record is damaged: \(reason)"
            case let .unsupportedVersion(version): "record format \(version) is newer than this sifter knows (\(IntegrityRecord.formatVersion))"
            }
        }
    }

    private struct Stored: Decodable {
        var version: Int64
        var algorithm: String
        var header: HeaderFields
        var objects: [Object]
        var selfSHA256: String
    }

    /// Checks the self digest over the exact stored bytes, then decodes.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> IntegrityRecord {
        guard let markerStart = lastRange(of: selfMarker, in: bytes) else { throw .damaged("no self digest") }
        let prefix = Array(bytes[..<markerStart])
        let tail = bytes[(markerStart + selfMarker.count)...]
        guard tail.count == 66, tail.suffix(2).elementsEqual(Array("\"}".utf8)) else { throw .damaged("the self digest is malformed") }
        let stored = String(decoding: tail.prefix(64), as: UTF8.self)
        guard let actual = try? SHA256.hash(prefix).hex else { throw .damaged("cannot hash") }
        guard actual == stored else { throw .damaged("its bytes hash to sha256:\(actual), it records sha256:\(stored)") }
        let document: Stored
        do { document = try JSONDecoder().decode(Stored.self, from: Data(bytes)) } catch {
            throw .damaged("not the expected JSON (\(error))")
        }
        guard document.version <= formatVersion else { throw .unsupportedVersion(document.version) }
        guard document.algorithm == "sha256" else { throw .damaged("unknown algorithm \(document.algorithm)") }
        return IntegrityRecord(header: document.header, objects: document.objects)
    }

    static func lastRange(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var start = haystack.count - needle.count
        while start >= 0 {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
            start -= 1
        }
        return nil
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes { out += [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]] }
        return String(decoding: out, as: UTF8.self)
    }
}
