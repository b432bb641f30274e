import Hashing
import Testing

/// The background hasher gives the digest the plain one gives, whatever the chunking (chunks
/// larger than its buffers included), and one given up never blocks.
@Suite struct BackgroundSHA256Tests {
    @Test(arguments: [1, 7, 4096, 300_000, 2_000_000])
    func sameDigestAsThePlainHasher(chunk: Int) throws {
        let count = chunk < 100 ? 20_011 : 3_000_017
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        let background = BackgroundSHA256(buffers: 3, bufferSize: 64 << 10)
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            bytes[start..<min(start + chunk, bytes.count)].withUnsafeBytes { background.update($0) }
        }
        #expect(try background.finalize() == SHA256.hash(bytes))
    }

    @Test func emptyInput() throws {
        #expect(try BackgroundSHA256().finalize() == SHA256.hash([]))
    }

    @Test func abandonedHasherLetsItsThreadEnd() {
        for _ in 0..<50 {
            let hasher = BackgroundSHA256(buffers: 2, bufferSize: 16)
            Array(repeating: UInt8(1), count: 20).withUnsafeBytes { hasher.update($0) }
            hasher.abandon()
            hasher.abandon()
        }
    }
}
