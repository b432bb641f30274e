/// An rpm header as rpmdb.sqlite stores it (the `blob` column of `Packages`): the index
/// length `il` and data length `dl` (32-bit big-endian), `il` index entries of four big-endian
/// 32-bit words (tag, type, offset into the data, count), then `dl` bytes of data. Only the
/// tags a package listing needs are decoded; every offset is checked against the data.
struct RPMHeader {
    enum Tag: Int32 {
        case name = 1000, version = 1001, release = 1002, epoch = 1003, license = 1014, arch = 1022
        case sourceRPM = 1044
    }

    /// rpm's own limits on a header (`hdrchkTags`, `hdrchkData`).
    static let maxEntries = 0xFFFF
    static let maxData = 256 << 20

    private static let int32Type: UInt32 = 4
    private static let stringType: UInt32 = 6
    private static let i18nStringType: UInt32 = 9

    private(set) var strings: [Int32: String] = [:]
    private(set) var epoch: Int32?

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    init(blob: [UInt8]) throws(Malformed) {
        guard blob.count >= 8 else { throw Malformed(description: "\(blob.count) bytes, shorter than a header") }
        let entries = Int(Self.word(blob, 0))
        let dataLength = Int(Self.word(blob, 4))
        guard entries >= 1, entries <= Self.maxEntries else { throw Malformed(description: "\(entries) index entries") }
        guard dataLength <= Self.maxData else { throw Malformed(description: "\(dataLength) bytes of data") }
        let dataStart = 8 + entries * 16
        guard dataStart + dataLength <= blob.count else {
            throw Malformed(description: "index and data need \(dataStart + dataLength) bytes, the blob has \(blob.count)")
        }
        let wanted = Set([Tag.name, .version, .release, .license, .arch, .sourceRPM].map(\.rawValue))
        // Entries outside the immutable region (added at install) come later and win, as in rpm.
        for index in 0..<entries {
            let at = 8 + index * 16
            let tag = Int32(bitPattern: Self.word(blob, at))
            let type = Self.word(blob, at + 4)
            let offset = Int(Self.word(blob, at + 8))
            guard tag == Tag.epoch.rawValue || wanted.contains(tag) else { continue }
            guard offset < dataLength else {
                throw Malformed(description: "tag \(tag): offset \(offset) outside \(dataLength) bytes of data")
            }
            if tag == Tag.epoch.rawValue {
                guard type == Self.int32Type, offset + 4 <= dataLength else {
                    throw Malformed(description: "tag \(tag): not a 32-bit integer")
                }
                epoch = Int32(bitPattern: Self.word(blob, dataStart + offset))
            } else {
                guard type == Self.stringType || type == Self.i18nStringType else {
                    throw Malformed(description: "tag \(tag): type \(type), not a string")
                }
                let start = dataStart + offset
                let end = dataStart + dataLength
                guard let terminator = blob[start..<end].firstIndex(of: 0) else {
                    throw Malformed(description: "tag \(tag): string without its terminating NUL")
                }
                strings[tag] = String(decoding: blob[start..<terminator], as: UTF8.self)
            }
        }
    }

    subscript(_ tag: Tag) -> String? { strings[tag.rawValue] }

    private static func word(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }
}

extension RPMHeader {
    /// The installed package this header describes; nil for rpm's public-key pseudo-packages
    /// (`gpg-pubkey`, which `rpm -qa` lists but which install no software).
    func package(location: String) throws(Malformed) -> InstalledPackage? {
        guard let name = self[.name], !name.isEmpty else { throw Malformed(description: "no name") }
        guard let version = self[.version], !version.isEmpty else { throw Malformed(description: "\(name): no version") }
        guard name != "gpg-pubkey" else { return nil }
        let release = self[.release].flatMap { $0.isEmpty ? nil : $0 }
        return InstalledPackage(
            ecosystem: .rpm, name: name, version: release.map { "\(version)-\($0)" } ?? version,
            epoch: epoch.map(String.init), architecture: self[.arch].flatMap { $0.isEmpty ? nil : $0 },
            license: self[.license].flatMap { $0.isEmpty ? nil : $0 },
            upstream: self[.sourceRPM].flatMap { $0.isEmpty ? nil : $0 }, location: location)
    }
}
