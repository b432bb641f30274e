#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The writer's output when it writes to a descriptor: libarchive hands over each piece as
/// its format produces it (no blocking of its own), and this gathers them into big writes (a
/// tenth of the system calls into a pipe of tar's 10 KiB records). The writer can put bytes of
/// its own between members (`GNULongLink`), in order.
final class BlockOutput {
    let fd: Int32
    private let buffer: UnsafeMutableRawBufferPointer
    private var used = 0
    /// The errno of the first failed write; everything after it fails too.
    private(set) var failure: Int32?

    init(fd: Int32, capacity: Int) {
        self.fd = fd
        buffer = .allocate(byteCount: capacity, alignment: 4096)
    }

    deinit { buffer.deallocate() }

    /// Appends `bytes`; returns false once writing failed (`failure` says why).
    func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            if used == buffer.count, !flush() { return false }
            let chunk = min(bytes.count - offset, buffer.count - used)
            (buffer.baseAddress! + used).copyMemory(from: bytes.baseAddress! + offset, byteCount: chunk)
            used += chunk
            offset += chunk
        }
        return failure == nil
    }

    /// Writes out what is gathered.
    func flush() -> Bool {
        guard failure == nil else { return false }
        var done = 0
        while done < used {
            let n = write(fd, buffer.baseAddress! + done, used - done)
            if n > 0 {
                done += n
            } else if n < 0, errno == EINTR {
                continue
            } else {
                failure = n < 0 ? errno : EIO
                return false
            }
        }
        used = 0
        return true
    }
}

/// A GNU tar long-link record (type `K`): the target of the member that follows, of any length
/// and any bytes. squashfs-tools 4.5.1 strips a leading `/`, `./` or `../` from a pax
/// `linkpath` (it treats it as an archive path), so a symlink whose target does not fit the
/// 100-byte ASCII ustar field would lose it; it reads this record as it is.
enum GNULongLink {
    /// Whether libarchive's pax writer would put `target` in a pax `linkpath` record.
    static func needed(for target: [UInt8]) -> Bool {
        target.count > 100 || target.contains { $0 >= 0x80 }
    }

    /// The record: a header block, then the target and a NUL, padded to 512 bytes.
    static func record(for target: [UInt8]) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) {
            for (index, byte) in text.utf8.enumerated() { header[offset + index] = byte }
        }
        let size = target.count + 1
        put("././@LongLink", at: 0)
        put("0000644", at: 100)
        put("0000000", at: 108)
        put("0000000", at: 116)
        put(octal(size, width: 11), at: 124)
        put("00000000000", at: 136)
        header[156] = UInt8(ascii: "K")
        put("ustar  ", at: 257)
        put("root", at: 265)
        put("root", at: 297)
        // The checksum counts its own field as spaces.
        for index in 148..<156 { header[index] = 0x20 }
        let sum = header.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 6), at: 148)
        header[154] = 0
        header[155] = 0x20
        var data = target + [0]
        data += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        return header + data
    }

    private static func octal(_ value: Int, width: Int) -> String {
        let digits = String(value, radix: 8)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
