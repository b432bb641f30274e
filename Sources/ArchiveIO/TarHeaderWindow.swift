/// The raw bytes of each member's headers, as the tar handle read them.
///
/// libarchive keeps pax string values as C strings, so a `path` of `a\0b` reaches us as `a`,
/// while Go's archive/tar (Docker, umoci) refuses the member. To see what it dropped, the
/// header blocks are kept as they stream past: the window follows the blocks our read
/// callback hands the tar handle, keeps a copy of the bytes libarchive has not consumed when
/// it asks for the next block (usually none: it asks only when it has used the block up, and
/// copies a straddling header into its own buffer), and while a header is being read it
/// keeps everything from the header's start. After the header, the bytes from
/// `archive_read_header_position` to the consumed position are the member's headers
/// (special headers, pax records, a sparse map), and only those were copied.
struct TarHeaderWindow {
    /// Larger header regions are refused rather than kept: libarchive limits each special
    /// header to 1 MiB and a member to 32 of them; the rest is a sparse map.
    static let limit = 64 << 20

    /// The block last handed to the tar handle: valid until the next one is asked for.
    private var block = UnsafeRawBufferPointer(start: nil, count: 0)
    private var blockStart: Int64 = 0
    /// A copy of the stream from `savedStart` up to `blockStart`.
    private var saved: [UInt8] = []
    private var savedStart: Int64 = 0
    /// While a header is read: where it starts.
    private var keepFrom: Int64?
    private(set) var overflowed = false

    /// Call before handing the tar handle the next block; `consumed` is its position.
    mutating func willReplaceBlock(consumed: Int64) {
        let from = min(consumed, keepFrom ?? consumed)
        let blockEnd = blockStart + Int64(block.count)
        if from > savedStart {
            saved.removeFirst(Int(min(Int64(saved.count), from - savedStart)))
            savedStart = min(from, blockStart)
        }
        if from < blockEnd, let base = block.baseAddress {
            let skip = Int(max(0, from - blockStart))
            if saved.isEmpty { savedStart = max(from, blockStart) }
            saved.append(contentsOf: UnsafeRawBufferPointer(start: base + skip, count: block.count - skip))
        }
        if saved.isEmpty { savedStart = blockEnd }
        if keepFrom != nil, saved.count > Self.limit {
            overflowed = true
            keepFrom = nil
        }
        block = UnsafeRawBufferPointer(start: nil, count: 0)
        blockStart = blockEnd
    }

    /// Call after handing the tar handle `next`.
    mutating func didDeliver(_ next: UnsafeRawBufferPointer) {
        block = next
    }

    /// A header starts at `position` (the handle's consumed position).
    mutating func beginHeader(at position: Int64) {
        keepFrom = position
        overflowed = false
    }

    /// The header that began at `start` ended at `end`: its bytes, or nil when they were not
    /// kept (too large, or a start the window had already passed).
    mutating func endHeader(start: Int64, end: Int64) -> [UInt8]? {
        defer { keepFrom = nil }
        guard !overflowed, start >= savedStart, end >= start, end <= blockStart + Int64(block.count) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(end - start))
        if start < blockStart {
            let from = Int(start - savedStart)
            bytes += saved[from..<min(saved.count, from + Int(end - start))]
        }
        if end > blockStart, let base = block.baseAddress {
            let from = Int(max(0, start - blockStart))
            bytes += UnsafeRawBufferPointer(start: base + from, count: Int(end - blockStart) - from)
        }
        return bytes.count == Int(end - start) ? bytes : nil
    }
}

/// Reads the header blocks of one member (as `TarHeaderWindow` kept them) the way
/// libarchive 3.6's tar reader walks them: special headers (`x`, `X`, `g`, `L`, `K`, `A`
/// with a body, `V` without) until the member's own header.
enum TarHeaderRegion {
    /// pax keys whose values libarchive stores as names, so a NUL would cut them.
    static let nameKeys: Set<String> = ["path", "linkpath", "GNU.sparse.name"]

    /// The first pax record among `region`'s special headers whose name value holds a NUL.
    static func nameWithNUL(in region: [UInt8]) -> String? {
        var offset = 0
        while offset + 512 <= region.count {
            let kind = Character(UnicodeScalar(region[offset + 156]))
            guard "xXgLKAV".contains(kind) else { return nil }
            if kind == "V" {
                offset += 512
                continue
            }
            guard let size = headerSize(region[(offset + 124)..<(offset + 136)]), size >= 0,
                  size <= Int64(region.count - offset - 512) else { return nil }
            let body = region[(offset + 512)..<(offset + 512 + Int(size))]
            if kind == "x" || kind == "X", let key = paxNameWithNUL(body) { return key }
            offset += 512 + Int((size + 511) / 512 * 512)
        }
        return nil
    }

    /// A ustar numeric field: octal digits (leading spaces and NULs skipped), or base-256
    /// when the top bit of the first byte is set.
    static func headerSize(_ field: ArraySlice<UInt8>) -> Int64? {
        guard let first = field.first else { return nil }
        if first & 0x80 != 0 {
            var value: Int64 = Int64(first & 0x3f)
            for byte in field.dropFirst() {
                guard value < (Int64.max >> 8) else { return nil }
                value = value << 8 | Int64(byte)
            }
            return first & 0x40 != 0 ? nil : value
        }
        var value: Int64 = 0
        var digits = field.drop { $0 == 0x20 || $0 == 0 }[...]
        digits = digits.prefix { $0 >= 0x30 && $0 <= 0x37 }
        for digit in digits {
            guard value < (Int64.max >> 3) else { return nil }
            value = value << 3 | Int64(digit - 0x30)
        }
        return value
    }

    /// Walks pax records (`<length> <key>=<value>\n`); a malformed one ends the walk, since
    /// libarchive warns about it and the caller refuses warnings.
    static func paxNameWithNUL(_ body: ArraySlice<UInt8>) -> String? {
        var position = body.startIndex
        while position < body.endIndex {
            guard let space = body[position...].firstIndex(of: 0x20) else { return nil }
            guard let length = Int(String(decoding: body[position..<space], as: UTF8.self)), length > 0,
                  position + length <= body.endIndex else { return nil }
            let record = body[(space + 1)..<(position + length)]
            guard record.last == 0x0A, let equals = record.firstIndex(of: 0x3D) else { return nil }
            let key = String(decoding: record[..<equals], as: UTF8.self)
            let value = record[(equals + 1)..<(record.endIndex - 1)]
            if nameKeys.contains(key), value.contains(0) { return key }
            position += length
        }
        return nil
    }
}
