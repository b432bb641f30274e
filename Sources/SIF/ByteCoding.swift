// Little-endian packing helpers. The format is Go `encoding/binary` output: packed, no padding.

struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// Appends `source` cut or NUL-padded to exactly `width` bytes.
    mutating func append(fixed source: [UInt8], width: Int) {
        bytes.append(contentsOf: source.prefix(width))
        if source.count < width { bytes.append(contentsOf: repeatElement(0, count: width - source.count)) }
    }
}

struct ByteReader {
    private let bytes: [UInt8]
    private(set) var position: Int

    init(_ bytes: [UInt8], at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    /// Callers size their buffers from the fixed struct layouts, so reads never run past the end;
    /// a short buffer still yields zeros rather than trapping.
    mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) -> T {
        let width = MemoryLayout<T>.size
        var value: T = 0
        for index in 0..<width where position + index < bytes.count {
            value |= T(truncatingIfNeeded: bytes[position + index]) << (8 * index)
        }
        position += width
        return value
    }

    mutating func readBool() -> Bool { read(UInt8.self) != 0 }

    mutating func read(count: Int) -> [UInt8] {
        let end = min(position + count, bytes.count)
        let slice = position < end ? Array(bytes[position..<end]) : []
        position += count
        return slice + [UInt8](repeating: 0, count: count - slice.count)
    }
}

extension Array where Element == UInt8 {
    /// The bytes without trailing NULs (as the reference reader trims names and scripts).
    var trimmingTrailingNULs: [UInt8] {
        var end = endIndex
        while end > startIndex, self[end - 1] == 0 { end -= 1 }
        return Array(self[..<end])
    }
}
