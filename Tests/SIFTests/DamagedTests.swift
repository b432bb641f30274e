import Testing
@testable import SIF

/// Damaged files must give a clear SIFError naming the problem; never a crash or a huge allocation.
@Suite struct DamagedTests {
    static func patch64(_ bytes: inout [UInt8], at offset: Int, _ value: Int64) {
        for index in 0..<8 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    static func patch32(_ bytes: inout [UInt8], at offset: Int, _ value: UInt32) {
        for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    /// Loads `bytes` from a scratch file and returns the error's text.
    func loadError(_ bytes: [UInt8]) throws -> String? {
        let scratch = try ScratchDirectory()
        let path = try scratch.write(bytes, to: "damaged.sif")
        do {
            _ = try SIFImage.load(path: path)
            return nil
        } catch {
            return error.description
        }
    }

    static let descriptor1 = 4096
    static let descriptor2 = 4096 + 585

    struct Damage: Sendable, CustomTestStringConvertible {
        let name: String
        let expected: String
        let apply: @Sendable (inout [UInt8]) -> Void
        var testDescription: String { name }
    }

    static let damages: [Damage] = [
        Damage(name: "truncated header", expected: "not a complete SIF file") { $0 = Array($0.prefix(100)) },
        Damage(name: "truncated descriptors", expected: "not a complete SIF file") { $0 = Array($0.prefix(5000)) },
        Damage(name: "truncated data", expected: "not a complete SIF file") { $0 = Array($0.prefix(40000)) },
        Damage(name: "wrong magic", expected: "not a SIF file") { $0[32] = UInt8(ascii: "X") },
        Damage(name: "wrong version", expected: "unsupported SIF version \"02\"") { $0[43] = UInt8(ascii: "2") },
        Damage(name: "absurd descriptor count", expected: "descriptor count") {
            patch64(&$0, at: 88, 1 << 40); patch64(&$0, at: 104, (1 << 40) * 585)
        },
        Damage(name: "negative descriptor count", expected: "descriptor count") { patch64(&$0, at: 88, -1) },
        Damage(name: "free count above total", expected: "free descriptor count") { patch64(&$0, at: 80, 49) },
        Damage(name: "area size disagrees", expected: "descriptor area is") { patch64(&$0, at: 104, 99) },
        Damage(name: "descriptor area beyond end", expected: "outside the file") { patch64(&$0, at: 96, 1 << 50) },
        Damage(name: "absurd data size", expected: "absurd") { patch64(&$0, at: 120, Int64.max - 10) },
        Damage(name: "object beyond end", expected: "beyond the end of the file") {
            patch64(&$0, at: descriptor2 + 17, 40000)
        },
        Damage(name: "object size overflow", expected: "beyond the end of the file") {
            patch64(&$0, at: descriptor2 + 25, Int64.max)
        },
        Damage(name: "negative object size", expected: "negative offset or size") {
            patch64(&$0, at: descriptor2 + 25, -5)
        },
        Damage(name: "overlapping objects", expected: "overlap") { patch64(&$0, at: descriptor2 + 17, 32770) },
        Damage(name: "object inside descriptor area", expected: "overlaps the header or descriptor area") {
            patch64(&$0, at: descriptor1 + 17, 4200)
        },
        Damage(name: "two primary partitions", expected: "more than one primary partition") {
            patch32(&$0, at: descriptor1 + 201 + 4, 2)
        },
        Damage(name: "duplicate object IDs", expected: "zero or used twice") { patch32(&$0, at: descriptor2 + 5, 1) },
        Damage(name: "count disagrees with slots", expected: "the descriptor area holds") { patch64(&$0, at: 80, 47) },
    ]

    @Test(arguments: damages)
    func damagedFileGivesClearError(_ damage: Damage) throws {
        var bytes = try Fixture.bytes("one-group.sif")
        #expect(try loadError(bytes) == nil)
        damage.apply(&bytes)
        let message = try loadError(bytes)
        #expect(message?.contains(damage.expected) == true, "got: \(message ?? "no error")")
        #expect(message?.contains("damaged.sif") == true)
    }

    @Test func missingAndEmptyFiles() throws {
        #expect(throws: SIFError.self) { try SIFImage.load(path: "/nonexistent/x.sif") }
        #expect(try loadError([])?.contains("not a complete SIF file") == true)
    }

    /// A bounded mutation run over every fixture: any outcome but a crash is acceptable, and a
    /// file that loads must have every object inside the file. The libFuzzer target in
    /// integration/fuzz explores further in CI.
    @Test func randomMutationsNeverCrash() throws {
        var generator = SplitMix(seed: 0x5EED)
        let scratch = try ScratchDirectory()
        for name in ["one-group.sif", "two-groups-signed.sif", "one-object-sbom.sif"] {
            let original = try Fixture.bytes(name)
            for round in 0..<150 {
                var bytes = original
                for _ in 0...(round % 6) {
                    let position = Int(generator.next() % UInt64(min(bytes.count, 4096 + 585 * 6)))
                    bytes[position] = UInt8(truncatingIfNeeded: generator.next())
                }
                let path = try scratch.write(bytes, to: "mutant.sif")
                guard let image = try? SIFImage.load(path: path) else { continue }
                for descriptor in image.descriptors {
                    #expect(descriptor.offset + descriptor.size <= Int64(bytes.count))
                }
            }
        }
    }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
