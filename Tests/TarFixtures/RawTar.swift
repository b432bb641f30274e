/// Tar bytes built by hand, for members no writer produces: damaged headers, pax records
/// holding NUL bytes or bad lengths, sparse maps that are not block-aligned. Shared by the
/// ArchiveIO and Rootfs tests.
public enum RawTar {
    public static let end = [UInt8](repeating: 0, count: 1024)

    /// One 512-byte ustar header with a correct checksum (unless `checksum` says otherwise).
    public static func header(_ name: String, type: Character = "0", size: Int = 0, mtime: Int = 1_700_000_000,
                       linkname: String = "", checksum: Int? = nil) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: some Sequence<UInt8>, at offset: Int, max: Int) {
            for (index, byte) in bytes.prefix(max).enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put(Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8), at: offset, max: width - 1)
        }
        put(Array(name.utf8), at: 0, max: 100)
        octal(type == "2" ? 0o777 : 0o644, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(mtime, at: 136, width: 12)
        block[156] = type.asciiValue ?? 0x30
        put(Array(linkname.utf8), at: 157, max: 100)
        put(Array("ustar\u{0}00".utf8), at: 257, max: 8)
        put(Array(repeating: 0x20, count: 8), at: 148, max: 8)
        octal(checksum ?? block.reduce(0) { $0 + Int($1) }, at: 148, width: 7)
        return block
    }

    public static func padded(_ data: [UInt8]) -> [UInt8] {
        data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    /// A member: its header and its data, padded.
    public static func member(_ name: String, type: Character = "0", data: [UInt8] = [], linkname: String = "") -> [UInt8] {
        header(name, type: type, size: data.count, linkname: linkname) + padded(data)
    }

    /// One pax record, `<length> <key>=<value>\n`, the length counting itself.
    public static func record(_ key: String, _ value: [UInt8]) -> [UInt8] {
        let rest = 1 + key.utf8.count + 1 + value.count + 1
        var length = rest + 1
        while String(length).count + rest > length { length += 1 }
        return Array("\(length) \(key)=".utf8) + value + [0x0A]
    }

    /// A pax extended header ('x') holding `records`, for the member that follows.
    public static func pax(_ records: [(String, [UInt8])]) -> [UInt8] {
        let body = records.flatMap { record($0.0, $0.1) }
        return header("PaxHeaders/x", type: "x", size: body.count) + padded(body)
    }

    /// A GNU sparse 1.0 member (as GNU tar --format=posix writes it): the map, padded, then
    /// the data regions back to back. Offsets need not be block-aligned.
    public static func sparse(_ name: String, size: Int64, regions: [(offset: Int64, data: [UInt8])]) -> [UInt8] {
        let map = "\(regions.count)\n" + regions.map { "\($0.offset)\n\($0.data.count)\n" }.joined()
        let body = padded(Array(map.utf8)) + regions.flatMap(\.data)
        return pax([("GNU.sparse.major", Array("1".utf8)), ("GNU.sparse.minor", Array("0".utf8)),
                    ("GNU.sparse.name", Array(name.utf8)), ("GNU.sparse.realsize", Array(String(size).utf8))])
            + member("GNUSparseFile.0/" + name, data: body)
    }
}
