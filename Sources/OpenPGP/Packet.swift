/// An OpenPGP packet (RFC 4880 §4): its tag and body, framing removed.
public struct Packet: Sendable, Equatable {
    public var tag: UInt8
    public var body: [UInt8]

    public init(tag: UInt8, body: [UInt8]) {
        self.tag = tag
        self.body = body
    }

    public static let signatureTag: UInt8 = 2
    public static let secretKeyTag: UInt8 = 5
    public static let publicKeyTag: UInt8 = 6
    public static let secretSubkeyTag: UInt8 = 7
    public static let markerTag: UInt8 = 10
    public static let trustTag: UInt8 = 12
    public static let userIDTag: UInt8 = 13
    public static let publicSubkeyTag: UInt8 = 14
    public static let userAttributeTag: UInt8 = 17

    /// Splits `bytes` into packets; old-format and new-format headers (partial lengths too).
    public static func parseAll(_ bytes: [UInt8]) throws(OpenPGPError) -> [Packet] {
        var reader = BigEndianReader(bytes)
        var packets: [Packet] = []
        while !reader.isAtEnd {
            packets.append(try parse(&reader))
        }
        return packets
    }

    static func parse(_ reader: inout BigEndianReader) throws(OpenPGPError) -> Packet {
        let ctb = try reader.byte("a packet header")
        guard ctb & 0x80 != 0 else { throw .malformed("byte 0x\(Hex.lower([ctb])) at offset \(reader.position - 1) is no packet header") }
        if ctb & 0x40 == 0 {
            let tag = (ctb >> 2) & 0x0F
            let length: Int
            switch ctb & 0x03 {
            case 0: length = Int(try reader.byte("an old-format packet length"))
            case 1: length = Int(try reader.uint16("an old-format packet length"))
            case 2: length = Int(try reader.uint32("an old-format packet length"))
            default: length = reader.remaining  // indeterminate: up to the end of the data
            }
            return Packet(tag: tag, body: try reader.read(length, "the body of a packet of tag \(tag)"))
        }
        let tag = ctb & 0x3F
        var body: [UInt8] = []
        while true {
            let first = try reader.byte("a packet length")
            switch first {
            case 0..<192:
                return Packet(tag: tag, body: body + (try reader.read(Int(first), "the body of a packet of tag \(tag)")))
            case 192..<224:
                let second = try reader.byte("a packet length")
                let length = (Int(first) - 192) << 8 + Int(second) + 192
                return Packet(tag: tag, body: body + (try reader.read(length, "the body of a packet of tag \(tag)")))
            case 255:
                let length = Int(try reader.uint32("a packet length"))
                return Packet(tag: tag, body: body + (try reader.read(length, "the body of a packet of tag \(tag)")))
            default:
                body += try reader.read(1 << Int(first & 0x1F), "a partial body of a packet of tag \(tag)")
            }
        }
    }

    /// The packet with a new-format header, lengths encoded as go-crypto's `serializeLength`.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = [0xC0 | tag]
        out += Self.encodedLength(body.count)
        return out + body
    }

    static func encodedLength(_ length: Int) -> [UInt8] {
        if length < 192 { return [UInt8(length)] }
        if length < 8384 {
            let rest = length - 192
            return [UInt8(192 + (rest >> 8)), UInt8(rest & 0xFF)]
        }
        var out: [UInt8] = [255]
        out.appendBigEndian(UInt32(length))
        return out
    }
}
