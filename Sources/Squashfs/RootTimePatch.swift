import CZlib
import Foundation

/// Sets the root directory's mtime and the superblock's creation time of a gzip squashfs
/// that mksquashfs wrote at `offset` in a file.
///
/// Why: mksquashfs 4.5.1 in tar mode stamps the root with the clock (or SOURCE_DATE_EPOCH,
/// which also lowers every later time to it) and ignores `-root-time`; the time that keeps
/// the image reproducible is known only once the whole stream has been read. mksquashfs
/// writes the root inode last, so only the inode table's last metadata block changes: it is
/// recompressed, and if its size changes, the tables after it move and every absolute
/// pointer to them is shifted.
public enum RootTimePatch {
    static let metadataBlockSize = 8192
    static let invalidPointer = UInt64.max

    @discardableResult
    /// Returns how many bytes the tables after the inode table moved (for tests).
    public static func apply(path: String, offset: Int64, time: UInt32) throws(SquashfsError) -> Int64 {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open \(path)", errno: errno) }
        defer { close(fd) }
        let file = PatchFile(fd: fd, base: offset)
        var superblock = try Superblock(try file.read(at: 0, count: Superblock.size))
        guard superblock.compression == 1 else {
            throw .invalidImage("root time patch: compression \(superblock.compression) is not gzip")
        }

        let rootBlock = superblock.inodeTableStart + (superblock.rootInode >> 16)
        let rootOffset = Int(superblock.rootInode & 0xFFFF)
        guard rootBlock < superblock.directoryTableStart else { throw .invalidImage("root inode outside the inode table") }
        // The root's block and any after it up to the directory table: the root is last.
        var raw: [UInt8] = []
        var position = rootBlock
        var blockSizes: [Int] = []
        while position < superblock.directoryTableStart {
            let (data, stored) = try readMetadataBlock(file, at: position)
            raw += data
            blockSizes.append(data.count)
            position += UInt64(stored)
        }
        guard position == superblock.directoryTableStart else { throw .invalidImage("inode table does not end at the directory table") }
        guard rootOffset + 16 <= raw.count else { throw .invalidImage("root inode beyond its metadata block") }
        let type = UInt16(raw[rootOffset]) | UInt16(raw[rootOffset + 1]) << 8
        guard type == 1 || type == 8 else { throw .invalidImage("root inode has type \(type), not a directory") }
        guard try rootInodeEnd(raw, at: rootOffset, type: type) == raw.count else {
            throw .invalidImage("the root inode is not the last inode")
        }
        withUnsafeBytes(of: time.littleEndian) { raw.replaceSubrange(rootOffset + 8..<rootOffset + 12, with: $0) }

        var encoded: [UInt8] = []
        var start = 0
        for size in blockSizes {
            encoded += try encodeMetadataBlock(Array(raw[start..<start + size]))
            start += size
        }
        let oldLength = Int64(superblock.directoryTableStart - rootBlock)
        let delta = Int64(encoded.count) - oldLength
        if delta != 0 {
            try file.move(from: superblock.directoryTableStart, to: UInt64(Int64(superblock.directoryTableStart) + delta),
                          count: superblock.bytesUsed - superblock.directoryTableStart)
            try shiftTables(&superblock, by: delta, in: file)
            let end = Int64(superblock.bytesUsed)
            // mksquashfs pads the image to a multiple of 4 KiB with zeros.
            let padded = (end + 4095) / 4096 * 4096
            guard ftruncate(fd, off_t(offset + end)) == 0, ftruncate(fd, off_t(offset + padded)) == 0 else {
                throw .io(operation: "truncate \(path)", errno: errno)
            }
        }
        try file.write(encoded, at: rootBlock)
        superblock.mkfsTime = time
        try file.write(superblock.encoded(), at: 0)
        guard fsync(fd) == 0 else { throw .io(operation: "fsync \(path)", errno: errno) }
        return delta
    }

    /// Where the root directory inode ends: basic (type 1) 32 bytes; extended (type 8) 40
    /// bytes plus its index entries.
    static func rootInodeEnd(_ raw: [UInt8], at offset: Int, type: UInt16) throws(SquashfsError) -> Int {
        if type == 1 { return offset + 32 }
        guard offset + 40 <= raw.count else { throw .invalidImage("truncated root inode") }
        let count = Int(UInt16(raw[offset + 24]) | UInt16(raw[offset + 25]) << 8)
        var end = offset + 40
        for _ in 0..<count {
            guard end + 12 <= raw.count else { throw .invalidImage("truncated root inode index") }
            let nameSize = Int(raw[end + 8]) | Int(raw[end + 9]) << 8 | Int(raw[end + 10]) << 16 | Int(raw[end + 11]) << 24
            end += 12 + nameSize + 1
        }
        return end
    }

    /// Every table after the inode table moved by `delta`: the superblock's pointers and the
    /// index arrays of absolute block positions (fragments, export, ids, xattr ids).
    static func shiftTables(_ superblock: inout Superblock, by delta: Int64, in file: PatchFile) throws(SquashfsError) {
        func shifted(_ value: UInt64) -> UInt64 { UInt64(Int64(value) + delta) }
        func shiftIndex(at start: UInt64, entries: Int) throws(SquashfsError) {
            guard entries > 0 else { return }
            let bytes = try file.read(at: start, count: entries * 8)
            var out: [UInt8] = []
            for index in 0..<entries {
                let value = bytes[index * 8..<index * 8 + 8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
                withUnsafeBytes(of: shifted(value).littleEndian) { out += $0 }
            }
            try file.write(out, at: start)
        }
        func blocks(_ bytes: Int) -> Int { (bytes + metadataBlockSize - 1) / metadataBlockSize }

        superblock.directoryTableStart = shifted(superblock.directoryTableStart)
        superblock.bytesUsed = shifted(superblock.bytesUsed)
        superblock.fragmentTableStart = shifted(superblock.fragmentTableStart)
        try shiftIndex(at: superblock.fragmentTableStart, entries: blocks(Int(superblock.fragments) * 16))
        if superblock.lookupTableStart != invalidPointer {
            superblock.lookupTableStart = shifted(superblock.lookupTableStart)
            try shiftIndex(at: superblock.lookupTableStart, entries: blocks(Int(superblock.inodes) * 8))
        }
        superblock.idTableStart = shifted(superblock.idTableStart)
        try shiftIndex(at: superblock.idTableStart, entries: blocks(Int(superblock.ids) * 4))
        if superblock.xattrIDTableStart != invalidPointer {
            superblock.xattrIDTableStart = shifted(superblock.xattrIDTableStart)
            let header = try file.read(at: superblock.xattrIDTableStart, count: 16)
            let count = Int(header[8..<12].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) })
            try shiftIndex(at: superblock.xattrIDTableStart, entries: 1)
            try shiftIndex(at: superblock.xattrIDTableStart + 16, entries: blocks(count * 16))
        }
    }

    static func readMetadataBlock(_ file: PatchFile, at position: UInt64) throws(SquashfsError) -> (data: [UInt8], stored: Int) {
        let header = try file.read(at: position, count: 2)
        let word = Int(header[0]) | Int(header[1]) << 8
        let length = word & 0x7FFF
        guard length > 0, length <= metadataBlockSize else { throw .invalidImage("bad metadata block header at \(position)") }
        let payload = try file.read(at: position + 2, count: length)
        if word & 0x8000 != 0 { return (payload, length + 2) }
        var output = [UInt8](repeating: 0, count: metadataBlockSize)
        var outputLength = uLongf(metadataBlockSize)
        let status = uncompress(&output, &outputLength, payload, uLong(length))
        guard status == Z_OK else { throw .invalidImage("zlib error \(status) in the metadata block at \(position)") }
        return (Array(output[0..<Int(outputLength)]), length + 2)
    }

    /// Compressed like mksquashfs's gzip compressor (zlib, level 9), or stored when that is
    /// not smaller.
    static func encodeMetadataBlock(_ raw: [UInt8]) throws(SquashfsError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(compressBound(uLong(raw.count))))
        var outputLength = uLongf(output.count)
        let status = compress2(&output, &outputLength, raw, uLong(raw.count), 9)
        guard status == Z_OK else { throw .invalidImage("zlib error \(status) compressing the root inode block") }
        if Int(outputLength) < raw.count {
            let word = UInt16(outputLength)
            return [UInt8(word & 0xFF), UInt8(word >> 8)] + output[0..<Int(outputLength)]
        }
        let word = UInt16(raw.count) | 0x8000
        return [UInt8(word & 0xFF), UInt8(word >> 8)] + raw
    }
}

/// The fields of a squashfs 4.0 superblock that the patch reads or changes.
struct Superblock {
    static let size = 96
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) throws(SquashfsError) {
        self.bytes = bytes
        guard bytes.count == Superblock.size, u32(0) == 0x7371_7368, u16(28) == 4 else {
            throw .invalidImage("not a squashfs 4.0 superblock")
        }
    }

    func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
    func u32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
    func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * $1) } }
    mutating func set32(_ at: Int, _ value: UInt32) { for i in 0..<4 { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) } }
    mutating func set64(_ at: Int, _ value: UInt64) { for i in 0..<8 { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) } }

    var inodes: UInt32 { u32(4) }
    var mkfsTime: UInt32 { get { u32(8) } set { set32(8, newValue) } }
    var fragments: UInt32 { u32(16) }
    var compression: UInt16 { u16(20) }
    var ids: UInt16 { u16(26) }
    var rootInode: UInt64 { u64(32) }
    var bytesUsed: UInt64 { get { u64(40) } set { set64(40, newValue) } }
    var idTableStart: UInt64 { get { u64(48) } set { set64(48, newValue) } }
    var xattrIDTableStart: UInt64 { get { u64(56) } set { set64(56, newValue) } }
    var inodeTableStart: UInt64 { u64(64) }
    var directoryTableStart: UInt64 { get { u64(72) } set { set64(72, newValue) } }
    var fragmentTableStart: UInt64 { get { u64(80) } set { set64(80, newValue) } }
    var lookupTableStart: UInt64 { get { u64(88) } set { set64(88, newValue) } }

    func encoded() -> [UInt8] { bytes }
}

/// Positional reads and writes relative to where the squashfs starts in the file.
struct PatchFile {
    let fd: Int32
    let base: Int64

    func read(at position: UInt64, count: Int) throws(SquashfsError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(base + Int64(position)) + off_t(done)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw n == 0 ? .invalidImage("squashfs ends early at \(position)") : .io(operation: "pread", errno: errno) }
            done += n
        }
        return buffer
    }

    func write(_ bytes: [UInt8], at position: UInt64) throws(SquashfsError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(base + Int64(position)) + off_t(done)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw .io(operation: "pwrite", errno: errno) }
            done += n
        }
    }

    /// Copies `count` bytes from `from` to `to` in chunks, in the order that never reads a
    /// byte already overwritten.
    func move(from: UInt64, to: UInt64, count: UInt64) throws(SquashfsError) {
        let chunk: UInt64 = 1 << 20
        var done: UInt64 = 0
        while done < count {
            let size = min(chunk, count - done)
            // Moving up: start at the end; moving down: start at the beginning.
            let start = to > from ? count - done - size : done
            let bytes = try read(at: from + start, count: Int(size))
            try write(bytes, at: to + start)
            done += size
        }
    }
}
