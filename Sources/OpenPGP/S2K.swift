/// String-to-key specifiers (RFC 4880 §3.7): how a passphrase becomes a cipher key.
enum S2K: Sendable {
    case simple(DigestAlgorithm)
    case salted(DigestAlgorithm, salt: [UInt8])
    case iterated(DigestAlgorithm, salt: [UInt8], count: Int)
    /// GnuPG's extension 101: no secret here (a smartcard stub, or exported without secrets).
    case gnuDummy

    static func parse(_ reader: inout BigEndianReader) throws(OpenPGPError) -> S2K {
        let type = try reader.byte("an S2K type")
        if type == 101 {
            let hash = try reader.byte("an S2K hash")
            _ = hash
            let marker = try reader.read(3, "a GNU S2K extension")
            guard marker == Array("GNU".utf8) else { throw .malformed("S2K type 101 without the GNU marker") }
            _ = try reader.byte("a GNU S2K mode")
            return .gnuDummy
        }
        let hashID = try reader.byte("an S2K hash")
        guard let hash = DigestAlgorithm(openPGPID: hashID) else { throw .unsupported("S2K hash algorithm \(hashID)") }
        switch type {
        case 0: return .simple(hash)
        case 1: return .salted(hash, salt: try reader.read(8, "an S2K salt"))
        case 3:
            let salt = try reader.read(8, "an S2K salt")
            let coded = Int(try reader.byte("an S2K count"))
            return .iterated(hash, salt: salt, count: (16 + (coded & 15)) << ((coded >> 4) + 6))
        default: throw .unsupported("S2K type \(type)")
        }
    }

    /// `length` key bytes: as many hash contexts as needed, the i-th preloaded with i zero
    /// bytes, each fed the salted (and repeated) passphrase.
    func deriveKey(passphrase: [UInt8], length: Int) throws(OpenPGPError) -> [UInt8] {
        let hash: DigestAlgorithm
        var input: [UInt8]
        var total: Int
        switch self {
        case let .simple(algorithm):
            hash = algorithm; input = passphrase; total = passphrase.count
        case let .salted(algorithm, salt):
            hash = algorithm; input = salt + passphrase; total = input.count
        case let .iterated(algorithm, salt, count):
            hash = algorithm; input = salt + passphrase; total = max(count, input.count)
        case .gnuDummy:
            throw .unusableKey("a stub key has no secret to unlock")
        }
        defer { wipe(&input) }
        // The iterated stream is the input repeated; feed it in large aligned chunks (an
        // iteration count of 65 MB would otherwise mean millions of tiny updates).
        var chunk: [UInt8] = []
        if !input.isEmpty {
            let repeats = max(1, min(total, 1 << 16) / input.count)
            chunk.reserveCapacity(repeats * input.count)
            for _ in 0..<repeats { chunk += input }
        }
        defer { wipe(&chunk) }
        var key: [UInt8] = []
        var round = 0
        while key.count < length {
            let hasher = try Hasher(hash)
            hasher.update([UInt8](repeating: 0, count: round))
            var remaining = total
            chunk.withUnsafeBytes { buffer in
                while remaining > 0, buffer.count > 0 {
                    let take = min(remaining, buffer.count)
                    hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<take]))
                    remaining -= take
                }
            }
            key += try hasher.finalize()
            round += 1
        }
        return Array(key.prefix(length))
    }
}
