/// A cursor over big-endian packet bytes; every read past the end is a `malformed` error
/// naming what was being read.
struct BigEndianReader {
    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.position = start
        self.end = end ?? bytes.count
    }

    var remaining: Int { end - position }
    var isAtEnd: Bool { position >= end }

    mutating func byte(_ what: @autoclosure () -> String) throws(OpenPGPError) -> UInt8 {
        guard position < end else { throw .malformed("\(what()) is cut short") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func read(_ count: Int, _ what: @autoclosure () -> String) throws(OpenPGPError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw .malformed("\(what()) is cut short") }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    mutating func uint16(_ what: @autoclosure () -> String) throws(OpenPGPError) -> UInt16 {
        let two = try read(2, what())
        return UInt16(two[0]) << 8 | UInt16(two[1])
    }

    mutating func uint32(_ what: @autoclosure () -> String) throws(OpenPGPError) -> UInt32 {
        let four = try read(4, what())
        return four.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// A multiprecision integer (RFC 4880 §3.2): a 16-bit bit count, then the bytes.
    mutating func mpi(_ what: @autoclosure () -> String) throws(OpenPGPError) -> [UInt8] {
        let bits = Int(try uint16(what()))
        return try read((bits + 7) / 8, what())
    }

    mutating func rest() -> [UInt8] {
        defer { position = end }
        return Array(bytes[position..<end])
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ value: UInt16) { append(contentsOf: [UInt8(value >> 8), UInt8(value & 0xFF)]) }

    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }

    /// Appends `magnitude` as an MPI: leading zero bytes dropped, bit count of the rest.
    mutating func appendMPI(_ magnitude: [UInt8]) {
        let trimmed = magnitude.drop(while: { $0 == 0 })
        let bits = trimmed.first.map { (trimmed.count - 1) * 8 + (8 - $0.leadingZeroBitCount) } ?? 0
        appendBigEndian(UInt16(bits))
        append(contentsOf: trimmed)
    }
}

/// Lower-case and upper-case hexadecimal text of bytes.
public enum Hex {
    public static func lower(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes { out += [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]] }
        return String(decoding: out, as: UTF8.self)
    }

    public static func upper(_ bytes: [UInt8]) -> String { lower(bytes).uppercased() }

    /// Parses hex text (either case, spaces allowed between byte pairs); nil when it is not hex.
    public static func parse(_ text: String) -> [UInt8]? {
        let digits = Array(text.filter { $0 != " " })
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < digits.count {
            guard let high = digits[index].hexDigitValue, let low = digits[index + 1].hexDigitValue else { return nil }
            out.append(UInt8(high << 4 | low))
            index += 2
        }
        return out
    }
}

/// Overwrites secret bytes before their storage is released. Swift arrays may have been
/// copied on the way, so this narrows, not closes, the window in which they sit in memory.
func wipe(_ bytes: inout [UInt8]) {
    for index in bytes.indices { bytes[index] = 0 }
}
