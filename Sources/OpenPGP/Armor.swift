import Foundation

/// OpenPGP ASCII armor (RFC 4880 §6): base64 lines between BEGIN and END lines, with an
/// optional CRC-24 checksum line.
public struct ArmorBlock: Sendable, Equatable {
    /// What follows `BEGIN PGP ` on the first line: `PUBLIC KEY BLOCK`, `SIGNATURE`, …
    public var type: String
    public var headers: [ArmorHeader]
    public var body: [UInt8]

    public init(type: String, headers: [ArmorHeader] = [], body: [UInt8]) {
        self.type = type
        self.headers = headers
        self.body = body
    }
}

public struct ArmorHeader: Sendable, Equatable {
    public var key: String
    public var value: String
}

public enum Armor {
    /// Every armored block in `text`, in order; text around and between blocks is ignored.
    public static func decodeAll(_ text: [UInt8]) throws(OpenPGPError) -> [ArmorBlock] {
        let lines = splitLines(text)
        var blocks: [ArmorBlock] = []
        var index = 0
        while index < lines.count {
            guard let type = boundary(lines[index], "BEGIN") else { index += 1; continue }
            let (block, next) = try decodeBlock(type: type, lines: lines, from: index + 1)
            blocks.append(block)
            index = next
        }
        return blocks
    }

    /// The one block of `type` that `text` must hold.
    public static func decode(_ text: [UInt8], expecting type: String) throws(OpenPGPError) -> ArmorBlock {
        let blocks = try decodeAll(text).filter { $0.type == type }
        guard let block = blocks.first else { throw .armor("no \"BEGIN PGP \(type)\" block found") }
        guard blocks.count == 1 else { throw .armor("\(blocks.count) \"PGP \(type)\" blocks, one expected") }
        return block
    }

    /// The armor the reference implementation writes (ProtonMail go-crypto `armor.Encode`):
    /// headers, a blank line, 64-column base64, `=` checksum, END line without a final newline.
    public static func encode(_ block: ArmorBlock) -> [UInt8] {
        var out = "-----BEGIN PGP \(block.type)-----\n"
        for header in block.headers { out += "\(header.key): \(header.value)\n" }
        out += "\n"
        let encoded = Array(Data(block.body).base64EncodedString().utf8)
        var lines: [String] = []
        var start = 0
        while start < encoded.count {
            let end = min(start + 64, encoded.count)
            lines.append(String(decoding: encoded[start..<end], as: UTF8.self))
            start = end
        }
        out += lines.joined(separator: "\n")
        let crc = crc24(block.body)
        let checksum = Data([UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]).base64EncodedString()
        out += "\n=\(checksum)\n-----END PGP \(block.type)-----"
        return Array(out.utf8)
    }

    /// CRC-24 of RFC 4880 §6.1.
    public static func crc24(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xB7_04CE
        for byte in bytes {
            crc ^= UInt32(byte) << 16
            for _ in 0..<8 {
                crc <<= 1
                if crc & 0x100_0000 != 0 { crc ^= 0x186_4CFB }
            }
        }
        return crc & 0xFF_FFFF
    }

    // MARK: Decoding

    private static func decodeBlock(type: String, lines: [String], from start: Int) throws(OpenPGPError) -> (ArmorBlock, Int) {
        var index = start
        var headers: [ArmorHeader] = []
        // Headers run up to the first blank line; a line that is no header starts the body
        // (some writers leave the blank line out when there are no headers).
        while index < lines.count {
            let line = lines[index]
            if line.isEmpty { index += 1; break }
            guard let colon = line.range(of: ": ") else { break }
            headers.append(ArmorHeader(key: String(line[..<colon.lowerBound]), value: String(line[colon.upperBound...])))
            index += 1
        }
        var base64 = ""
        var checksum: String?
        while index < lines.count {
            let line = lines[index]
            if let endType = boundary(line, "END") {
                guard endType == type else { throw .armor("\"BEGIN PGP \(type)\" ends with \"END PGP \(endType)\"") }
                guard let body = Data(base64Encoded: base64) else { throw .armor("the \(type) block is not valid base64") }
                let bytes = [UInt8](body)
                if let checksum {
                    guard let sum = Data(base64Encoded: checksum), sum.count == 3 else {
                        throw .armor("the \(type) block's checksum line is not valid")
                    }
                    let expected = UInt32(sum[0]) << 16 | UInt32(sum[1]) << 8 | UInt32(sum[2])
                    guard crc24(bytes) == expected else { throw .armor("the \(type) block fails its CRC-24 checksum") }
                }
                return (ArmorBlock(type: type, headers: headers, body: bytes), index + 1)
            }
            if line.hasPrefix("="), line.count == 5, checksum == nil {
                checksum = String(line.dropFirst())
            } else if checksum != nil, !line.isEmpty {
                throw .armor("the \(type) block has data after its checksum line")
            } else {
                base64 += line
            }
            index += 1
        }
        throw .armor("\"BEGIN PGP \(type)\" has no END line")
    }

    /// `TYPE` of a `-----BEGIN PGP TYPE-----` (or END) line.
    static func boundary(_ line: String, _ word: String) -> String? {
        let prefix = "-----\(word) PGP "
        guard line.hasPrefix(prefix), line.hasSuffix("-----"), line.count > prefix.count + 5 else { return nil }
        return String(line.dropFirst(prefix.count).dropLast(5))
    }

    /// Lines without their LF or CRLF, trailing spaces and tabs dropped (RFC 4880 §6.2 lets
    /// armor lines end in whitespace).
    static func splitLines(_ text: [UInt8]) -> [String] {
        text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            var end = line.endIndex
            while end > line.startIndex, [UInt8(ascii: "\r"), UInt8(ascii: " "), UInt8(ascii: "\t")].contains(line[end - 1]) {
                end -= 1
            }
            return String(decoding: line[line.startIndex..<end], as: UTF8.self)
        }
    }
}
