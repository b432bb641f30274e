// On-disk enumerations of the SIF format (sylabs/sif v2 `pkg/sif/sif.go`, `arch.go`).
// Each is a struct over its raw value so that a reader can carry codes it does not know
// (a newer writer's) instead of failing or crashing on them.

/// The kind of a data object (`Descriptor.DataType`, int32).
public struct DataType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let deffile = DataType(rawValue: 0x4001)
    public static let envVar = DataType(rawValue: 0x4002)
    public static let labels = DataType(rawValue: 0x4003)
    public static let partition = DataType(rawValue: 0x4004)
    public static let signature = DataType(rawValue: 0x4005)
    public static let genericJSON = DataType(rawValue: 0x4006)
    public static let generic = DataType(rawValue: 0x4007)
    public static let cryptoMessage = DataType(rawValue: 0x4008)
    public static let sbom = DataType(rawValue: 0x4009)
    public static let ociRootIndex = DataType(rawValue: 0x400A)
    public static let ociBlob = DataType(rawValue: 0x400B)

    public static let allKnown: [DataType] = [
        .deffile, .envVar, .labels, .partition, .signature, .genericJSON, .generic,
        .cryptoMessage, .sbom, .ociRootIndex, .ociBlob,
    ]

    /// The stable machine name used by `sifter inspect --json`.
    public var name: String {
        switch self {
        case .deffile: "deffile"
        case .envVar: "envvar"
        case .labels: "labels"
        case .partition: "partition"
        case .signature: "signature"
        case .genericJSON: "genericJSON"
        case .generic: "generic"
        case .cryptoMessage: "cryptoMessage"
        case .sbom: "sbom"
        case .ociRootIndex: "ociRootIndex"
        case .ociBlob: "ociBlob"
        default: "unknown"
        }
    }

    /// The label the reference `siftool list` prints.
    public var description: String {
        switch self {
        case .deffile: "Def.FILE"
        case .envVar: "Env.Vars"
        case .labels: "JSON.Labels"
        case .partition: "FS"
        case .signature: "Signature"
        case .genericJSON: "JSON.Generic"
        case .generic: "Generic/Raw"
        case .cryptoMessage: "Cryptographic Message"
        case .sbom: "SBOM"
        case .ociRootIndex: "OCI.RootIndex"
        case .ociBlob: "OCI.Blob"
        default: "Unknown"
        }
    }

    public init?(name: String) {
        guard let found = DataType.allKnown.first(where: { $0.name == name }) else { return nil }
        self = found
    }
}

/// The file system of a partition object.
public struct FSType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let squash = FSType(rawValue: 1)
    public static let ext3 = FSType(rawValue: 2)
    public static let immutableObjects = FSType(rawValue: 3)
    public static let raw = FSType(rawValue: 4)
    public static let encryptedSquashfs = FSType(rawValue: 5)
    public static let gocryptfsSquashfs = FSType(rawValue: 6)

    public var description: String {
        switch self {
        case .squash: "Squashfs"
        case .ext3: "Ext3"
        case .immutableObjects: "Archive"
        case .raw: "Raw"
        case .encryptedSquashfs: "Encrypted squashfs"
        case .gocryptfsSquashfs: "Gocryptfs squashfs"
        default: "Unknown"
        }
    }
}

/// The role of a partition object.
public struct PartType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let system = PartType(rawValue: 1)
    public static let primarySystem = PartType(rawValue: 2)
    public static let data = PartType(rawValue: 3)
    public static let overlay = PartType(rawValue: 4)

    public var description: String {
        switch self {
        case .system: "System"
        case .primarySystem: "*System"
        case .data: "Data"
        case .overlay: "Overlay"
        default: "Unknown"
        }
    }
}

/// The digest algorithm of a signature object.
public struct HashType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let sha256 = HashType(rawValue: 1)
    public static let sha384 = HashType(rawValue: 2)
    public static let sha512 = HashType(rawValue: 3)
    public static let blake2s = HashType(rawValue: 4)
    public static let blake2b = HashType(rawValue: 5)

    public var description: String {
        switch self {
        case .sha256: "SHA-256"
        case .sha384: "SHA-384"
        case .sha512: "SHA-512"
        case .blake2s: "BLAKE2s-256"
        case .blake2b: "BLAKE2b-256"
        default: "Unknown"
        }
    }
}

/// The encoding of a cryptographic message object.
public struct FormatType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let openPGP = FormatType(rawValue: 1)
    public static let pem = FormatType(rawValue: 2)

    public var description: String {
        switch self {
        case .openPGP: "OpenPGP"
        case .pem: "PEM"
        default: "Unknown"
        }
    }
}

/// The kind of a cryptographic message object.
public struct MessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let clearSignature = MessageType(rawValue: 0x100)
    public static let rsaOAEP = MessageType(rawValue: 0x200)

    public var description: String {
        switch self {
        case .clearSignature: "Clear Signature"
        case .rsaOAEP: "RSA-OAEP"
        default: "Unknown"
        }
    }
}

/// The format of a software bill of materials object.
public struct SBOMFormat: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let cycloneDXJSON = SBOMFormat(rawValue: 1)
    public static let cycloneDXXML = SBOMFormat(rawValue: 2)
    public static let gitHubJSON = SBOMFormat(rawValue: 3)
    public static let spdxJSON = SBOMFormat(rawValue: 4)
    public static let spdxRDF = SBOMFormat(rawValue: 5)
    public static let spdxTagValue = SBOMFormat(rawValue: 6)
    public static let spdxYAML = SBOMFormat(rawValue: 7)
    public static let syftJSON = SBOMFormat(rawValue: 8)

    private static let names: [Int32: String] = [
        1: "cyclonedx-json", 2: "cyclonedx-xml", 3: "github-json", 4: "spdx-json",
        5: "spdx-rdf", 6: "spdx-tag-value", 7: "spdx-yaml", 8: "syft-json",
    ]

    public var description: String { Self.names[rawValue] ?? "unknown" }

    public init?(name: String) {
        guard let code = Self.names.first(where: { $0.value == name })?.key else { return nil }
        self.init(rawValue: code)
    }
}

/// A SIF architecture: three ASCII bytes on disk ("02\0"), a Go architecture name to people.
public struct Arch: Hashable, Sendable, CustomStringConvertible {
    /// The two ASCII digits stored on disk (the third byte is NUL).
    public let code: String

    private static let table: [(code: String, goName: String)] = [
        ("01", "386"), ("02", "amd64"), ("03", "arm"), ("04", "arm64"), ("05", "ppc64"),
        ("06", "ppc64le"), ("07", "mips"), ("08", "mipsle"), ("09", "mips64"),
        ("10", "mips64le"), ("11", "s390x"), ("12", "riscv64"), ("13", "loong64"),
    ]

    public static let unknown = Arch(code: "00")

    init(code: String) { self.code = code }

    /// The architecture with this Go name (`amd64`, `arm64`, …), or nil for a name SIF has no code for.
    public init?(goName: String) {
        guard let entry = Self.table.first(where: { $0.goName == goName }) else { return nil }
        self.code = entry.code
    }

    /// Decodes the three on-disk bytes; anything unrecognised reads as `unknown`.
    init(bytes: ArraySlice<UInt8>) {
        let digits = Array(bytes.prefix(2))
        let text = String(decoding: digits, as: UTF8.self)
        let terminated = bytes.count == 3 && bytes.last == 0
        self.code = terminated && Self.table.contains(where: { $0.code == text }) ? text : "00"
    }

    public var goName: String { Self.table.first(where: { $0.code == code })?.goName ?? "unknown" }
    public var description: String { goName }
    public var isKnown: Bool { code != "00" }

    var bytes: [UInt8] { Array(code.utf8) + [0] }
}
