// The 128-byte global header at offset 0 (`pkg/sif/sif.go` `header`).

/// Layout constants of the format.
public enum Layout {
    public static let headerSize = 128
    public static let descriptorSize = 585
    public static let launchScriptLength = 32
    public static let nameLength = 128
    public static let extraLength = 384
    public static let defaultDescriptorsOffset: Int64 = 4096
    public static let defaultDescriptorCapacity: Int64 = 48
    public static let partitionAlignment = 4096
    /// Stored group IDs carry this mask; a stored value of exactly the mask means "no group".
    public static let groupMask: UInt32 = 0xF000_0000
    /// Go's zero `time.Time` as Unix seconds: what deterministic mode records.
    public static let deterministicTime: Int64 = -62_135_596_800
    public static let defaultLaunchScript = "#!/usr/bin/env run-singularity\n"
    static let magic: [UInt8] = Array("SIF_MAGIC".utf8) + [0]
    static let version: [UInt8] = Array("01".utf8) + [0]
}

/// The global header of a SIF file.
public struct Header: Equatable, Sendable {
    /// Raw bytes of the launch script field (32, NUL-padded).
    public var launchScriptBytes: [UInt8]
    public var magic: [UInt8]
    public var versionBytes: [UInt8]
    public var arch: Arch
    /// The 16 raw bytes of the image UUID.
    public var id: [UInt8]
    public var createdAt: Int64
    public var modifiedAt: Int64
    public var descriptorsFree: Int64
    public var descriptorsTotal: Int64
    public var descriptorsOffset: Int64
    public var descriptorsSize: Int64
    public var dataOffset: Int64
    public var dataSize: Int64

    public var launchScript: String { String(decoding: launchScriptBytes.trimmingTrailingNULs, as: UTF8.self) }
    public var version: String { String(decoding: versionBytes.trimmingTrailingNULs, as: UTF8.self) }
    /// The UUID in canonical text form (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
    public var idString: String { UUIDText.format(id) }

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: Layout.headerSize)
        writer.append(fixed: launchScriptBytes, width: Layout.launchScriptLength)
        writer.append(fixed: magic, width: 10)
        writer.append(fixed: versionBytes, width: 3)
        writer.append(fixed: arch.bytes, width: 3)
        writer.append(fixed: id, width: 16)
        for value in [createdAt, modifiedAt, descriptorsFree, descriptorsTotal,
                      descriptorsOffset, descriptorsSize, dataOffset, dataSize] {
            writer.append(value)
        }
        return writer.bytes
    }

    init(decoding bytes: [UInt8]) {
        var reader = ByteReader(bytes)
        launchScriptBytes = reader.read(count: Layout.launchScriptLength)
        magic = reader.read(count: 10)
        versionBytes = reader.read(count: 3)
        arch = Arch(bytes: reader.read(count: 3)[...])
        id = reader.read(count: 16)
        createdAt = reader.read()
        modifiedAt = reader.read()
        descriptorsFree = reader.read()
        descriptorsTotal = reader.read()
        descriptorsOffset = reader.read()
        descriptorsSize = reader.read()
        dataOffset = reader.read()
        dataSize = reader.read()
    }

    init(launchScript: [UInt8], id: [UInt8], time: Int64, descriptorsOffset: Int64, capacity: Int64) {
        launchScriptBytes = launchScript
        magic = Layout.magic
        versionBytes = Layout.version
        arch = .unknown
        self.id = id
        createdAt = time
        modifiedAt = time
        descriptorsFree = capacity
        descriptorsTotal = capacity
        self.descriptorsOffset = descriptorsOffset
        descriptorsSize = capacity * Int64(Layout.descriptorSize)
        dataOffset = descriptorsOffset + descriptorsSize
        dataSize = 0
    }
}

/// UUID text conversion without Foundation, so that the format module stays dependency-free.
public enum UUIDText {
    public static func format(_ bytes: [UInt8]) -> String {
        let hex = bytes.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
        }.joined()
        var out = ""
        for (index, character) in hex.enumerated() {
            if [8, 12, 16, 20].contains(index) { out.append("-") }
            out.append(character)
        }
        return out
    }

    /// Parses canonical or bare-hex UUID text into 16 bytes.
    public static func parse(_ text: String) -> [UInt8]? {
        let hex = Array(text.lowercased().filter { $0 != "-" })
        guard hex.count == 32 else { return nil }
        var bytes: [UInt8] = []
        var index = 0
        while index < 32 {
            guard let high = hex[index].hexDigitValue, let low = hex[index + 1].hexDigitValue else { return nil }
            bytes.append(UInt8(high << 4 | low))
            index += 2
        }
        return bytes
    }
}
