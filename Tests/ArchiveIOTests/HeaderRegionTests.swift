@testable import ArchiveIO
import TarFixtures
import Testing

/// The walk over one member's header blocks that finds pax names holding a NUL.
@Suite struct HeaderRegionParsing {
    @Test func sizeFields() {
        #expect(TarHeaderRegion.headerSize(Array("00000001750\0".utf8)[...]) == 1000)
        #expect(TarHeaderRegion.headerSize(Array("   1750 \0\0\0\0".utf8)[...]) == 1000)
        #expect(TarHeaderRegion.headerSize(([0x80] + [UInt8](repeating: 0, count: 9) + [0x01, 0x00])[...]) == 256)
        #expect(TarHeaderRegion.headerSize(([0xFF] + [UInt8](repeating: 0xFF, count: 11))[...]) == nil)
    }

    @Test func recordsAreWalkedNotSearched() {
        // A NUL in another key's value, or in a path value's neighbour, is no name with NUL.
        let body = RawTar.record("comment", Array("a\0b".utf8)) + RawTar.record("path", Array("fine".utf8))
        #expect(TarHeaderRegion.paxNameWithNUL(body[...]) == nil)
        let bad = RawTar.record("comment", Array("x".utf8)) + RawTar.record("linkpath", Array("a\0".utf8))
        #expect(TarHeaderRegion.paxNameWithNUL(bad[...]) == "linkpath")
        // The member's own header ends the walk: a pax-looking payload after it is data.
        let region = RawTar.member("plain", data: RawTar.record("path", Array("a\0b".utf8)))
        #expect(TarHeaderRegion.nameWithNUL(in: region) == nil)
        #expect(TarHeaderRegion.nameWithNUL(in: RawTar.pax([("path", Array("a\0b".utf8))]) + RawTar.header("x")) == "path")
    }
}
