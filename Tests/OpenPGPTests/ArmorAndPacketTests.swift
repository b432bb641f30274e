import XCTest
@testable import OpenPGP

final class ArmorAndPacketTests: XCTestCase {
    func testCRC24() {
        XCTAssertEqual(Armor.crc24([]), 0xB7_04CE)
        // RFC 4880's CRC-24 of "123456789" (the CRC catalogue's check value for CRC-24/OPENPGP).
        XCTAssertEqual(Armor.crc24(Array("123456789".utf8)), 0x21_CF02)
    }

    func testArmorRoundTripAndChecksum() throws {
        let body = (0..<200).map { UInt8($0) }
        let armored = Armor.encode(ArmorBlock(type: "SIGNATURE", body: body))
        XCTAssertEqual(try Armor.decode(armored, expecting: "SIGNATURE").body, body)
        var damaged = armored
        // The checksum line: "\n=" then four base64 characters.
        let index = try XCTUnwrap(damaged.indices.first { damaged[$0] == 0x0A && damaged[$0 + 1] == UInt8(ascii: "=") }) + 1
        damaged[index + 1] = damaged[index + 1] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        XCTAssertThrowsError(try Armor.decode(damaged, expecting: "SIGNATURE")) {
            XCTAssertTrue("\($0)".contains("checksum"), "\($0)")
        }
    }

    func testArmorWithHeadersCRLFAndNoChecksum() throws {
        let text = "junk\r\n-----BEGIN PGP PUBLIC KEY BLOCK-----\r\nComment: x\r\n\r\nAAEC\r\n-----END PGP PUBLIC KEY BLOCK-----\r\n"
        let block = try Armor.decode(Array(text.utf8), expecting: "PUBLIC KEY BLOCK")
        XCTAssertEqual(block.body, [0, 1, 2])
        XCTAssertEqual(block.headers, [ArmorHeader(key: "Comment", value: "x")])
    }

    func testPacketLengthsOldNewAndPartial() throws {
        // Old format, one-byte length (tag 13); new format, two-byte length; new format with a
        // partial body (512 bytes then 3).
        var bytes: [UInt8] = [0xB4, 3] + Array("abc".utf8)
        let long = [UInt8](repeating: 7, count: 300)
        bytes += Packet(tag: 13, body: long).serialized()
        bytes += [0xC0 | 13, 0xE9] + [UInt8](repeating: 1, count: 512) + [3, 9, 9, 9]
        let packets = try Packet.parseAll(bytes)
        XCTAssertEqual(packets.map(\.tag), [13, 13, 13])
        XCTAssertEqual(packets[0].body, Array("abc".utf8))
        XCTAssertEqual(packets[1].body, long)
        XCTAssertEqual(packets[2].body.count, 515)
        XCTAssertEqual(Packet.encodedLength(191), [191])
        XCTAssertEqual(Packet.encodedLength(192), [192, 0])
        XCTAssertEqual(Packet.encodedLength(8383), [223, 255])
        XCTAssertEqual(Packet.encodedLength(8384), [255, 0, 0, 0x20, 0xC0])
        XCTAssertThrowsError(try Packet.parseAll([0xB4, 5, 1]))
    }

    func testCleartextFramingMatchesTheReferenceRules() {
        let (body, signed) = ClearSignedMessage.frame(Array("a \t\r\n-b\n\n c \nlast ".utf8))
        XCTAssertEqual(String(decoding: body, as: UTF8.self), "a\n- -b\n\n c\nlast\n")
        XCTAssertEqual(String(decoding: signed, as: UTF8.self), "a\r\n-b\r\n\r\n c\r\nlast")
    }
}
