import OCISpec
import SIF
import Testing
@testable import SifterCore

/// The partition's architecture against Apptainer's `machine.go` (`formats`, `ArchFromElf`,
/// `ArchFromContainer`) and the SIF assembler's fallback, with sifter's config step between.
@Suite struct PartitionArchTests {
    /// A 64-byte ELF header: identification, then e_type (2), e_machine, e_version (1).
    static func elf(machine: UInt16, elfClass: UInt8, littleEndian: Bool, version: UInt8 = 1, count: Int = 64) -> [UInt8] {
        var head = [UInt8](repeating: 0, count: 64)
        head[0...3] = [0x7F, 0x45, 0x4C, 0x46]
        head[4] = elfClass
        head[5] = littleEndian ? 1 : 2
        head[6] = version
        func put(_ value: UInt32, at offset: Int, size: Int) {
            for index in 0..<size {
                let byte = UInt8(truncatingIfNeeded: value >> (8 * UInt32(index)))
                head[offset + (littleEndian ? index : size - 1 - index)] = byte
            }
        }
        put(2, at: 16, size: 2)
        put(UInt32(machine), at: 18, size: 2)
        put(UInt32(version), at: 20, size: 4)
        return Array(head.prefix(count))
    }

    /// Every row of `formats` (main), including the ones SIF has no code for.
    static let rows: [(UInt16, UInt8, Bool, String)] = [
        (3, 1, true, "386"), (6, 1, true, "386"), (62, 2, true, "amd64"), (40, 1, true, "arm"), (40, 1, false, "armbe"),
        (183, 2, true, "arm64"), (183, 2, false, "arm64be"), (22, 2, false, "s390x"), (21, 1, false, "ppc64"),
        (21, 2, true, "ppc64le"), (8, 1, false, "mips"), (8, 1, true, "mipsle"), (8, 2, false, "mips64"),
        (8, 2, true, "mips64le"), (243, 2, true, "riscv64"), (258, 2, true, "loong64"),
    ]

    @Test func readsApptainersTable() {
        for (machine, elfClass, littleEndian, arch) in Self.rows {
            #expect(PartitionArch.read(Self.elf(machine: machine, elfClass: elfClass, littleEndian: littleEndian)) == .arch(arch))
        }
        // Machine, class and byte order must all match a row.
        #expect(PartitionArch.read(Self.elf(machine: 62, elfClass: 1, littleEndian: true)) == .unknownArch)
        #expect(PartitionArch.read(Self.elf(machine: 21, elfClass: 2, littleEndian: false)) == .unknownArch)  // ppc64's row says class 32
        #expect(PartitionArch.read(Self.elf(machine: 2, elfClass: 2, littleEndian: false)) == .unknownArch)  // SPARC
        // What elf.NewFile refuses.
        #expect(PartitionArch.read(Self.elf(machine: 62, elfClass: 3, littleEndian: true)) == .malformed)
        #expect(PartitionArch.read(Self.elf(machine: 62, elfClass: 2, littleEndian: true, version: 0)) == .malformed)
        #expect(PartitionArch.read(Self.elf(machine: 62, elfClass: 2, littleEndian: true, count: 40)) == .malformed)
        #expect(PartitionArch.read(Self.elf(machine: 40, elfClass: 1, littleEndian: true, count: 52)) == .arch("arm"))
        #expect(PartitionArch.read(Array("#!/bin/sh\n".utf8)) == .notELF)
        #expect(PartitionArch.read([0x7F, 0x45]) == .notELF)
        #expect(PartitionArch.endsWalk(Self.elf(machine: 2, elfClass: 2, littleEndian: false)))
        #expect(!PartitionArch.endsWalk(Self.elf(machine: 62, elfClass: 2, littleEndian: true, version: 0)))
        #expect(!PartitionArch.endsWalk(Array("#!/bin/sh\n".utf8)))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let shell: [UInt8]?
        let executable: [UInt8]?
        let config: String
        let arch: String
        let source: PartitionArch.Source
        var testDescription: String { name }
    }

    static let amd64 = elf(machine: 62, elfClass: 2, littleEndian: true)
    static let arm64 = elf(machine: 183, elfClass: 2, littleEndian: true)
    static let sparc = elf(machine: 2, elfClass: 2, littleEndian: false)
    static let armbe = elf(machine: 40, elfClass: 1, littleEndian: false)
    static let script = Array("#!/bin/busybox sh\n".utf8)

    static let cases = [
        Case(name: "/bin/sh decides", shell: arm64, executable: amd64, config: "amd64", arch: "arm64", source: .shell),
        Case(name: "/bin/sh a script: first executable", shell: script, executable: arm64, config: "amd64", arch: "arm64", source: .executable),
        Case(name: "/bin/sh of an unknown machine: the walk", shell: sparc, executable: arm64, config: "", arch: "arm64", source: .executable),
        Case(name: "first executable unknown: config", shell: nil, executable: sparc, config: "arm64", arch: "arm64", source: .config),
        Case(name: "armbe has no SIF code: config", shell: armbe, executable: nil, config: "arm", arch: "arm", source: .config),
        Case(name: "no ELF: config", shell: nil, executable: nil, config: "s390x", arch: "s390x", source: .config),
        Case(name: "config spelt x86_64", shell: nil, executable: nil, config: "x86_64", arch: "amd64", source: .config),
        Case(name: "empty config: host", shell: nil, executable: nil, config: "", arch: "riscv64", source: .host),
        Case(name: "unknown config: host", shell: script, executable: nil, config: "z80", arch: "riscv64", source: .host),
    ]

    @Test(arguments: cases)
    func choice(_ example: Case) {
        let choice = PartitionArch.choose(shellHead: example.shell, firstExecutableHead: example.executable,
                                          configArchitecture: example.config, hostArchitecture: "riscv64")
        #expect(choice.arch.goName == example.arch)
        #expect(choice.source == example.source)
    }

    @Test func neverFails() {
        #expect(PartitionArch.choose(shellHead: nil, firstExecutableHead: nil, configArchitecture: "", hostArchitecture: "z80").arch == .unknown)
        #expect(PartitionArch.choose(shellHead: nil, firstExecutableHead: nil, configArchitecture: "").arch.isKnown)
    }
}

@Suite struct PlatformMismatchTests {
    @Test func warnsOnlyForASingleImageThatDiffers() throws {
        let amd64 = Platform(os: "linux", architecture: "amd64")
        let arm64 = Platform(os: "linux", architecture: "arm64")
        let warning = try #require(PlatformMismatch.warning(source: "oci:layout:t1", requested: arm64, image: amd64, fromIndex: false))
        #expect(warning.contains("oci:layout:t1") && warning.contains("linux/amd64") && warning.contains("linux/arm64"))
        #expect(PlatformMismatch.warning(source: "x", requested: arm64, image: amd64, fromIndex: true) == nil)
        #expect(PlatformMismatch.warning(source: "x", requested: arm64, image: Platform(os: "linux", architecture: "arm64", variant: "v8"),
                                         fromIndex: false) == nil)
        #expect(PlatformMismatch.warning(source: "x", requested: Platform(os: "linux", architecture: "arm64", variant: "v8"),
                                         image: Platform(os: "linux", architecture: "aarch64"), fromIndex: false) == nil)
        #expect(PlatformMismatch.warning(source: "x", requested: Platform(os: "linux", architecture: "arm", variant: "v7"),
                                         image: Platform(os: "linux", architecture: "arm", variant: "v6"), fromIndex: false) == nil)
        #expect(PlatformMismatch.warning(source: "x", requested: amd64, image: Platform(os: "windows", architecture: "amd64"),
                                         fromIndex: false) != nil)
        let empty = try #require(PlatformMismatch.warning(source: "x", requested: amd64, image: Platform(os: "linux", architecture: ""),
                                                          fromIndex: false))
        #expect(empty.contains("names no architecture"))
    }
}

@Suite struct ArgumentOrderTests {
    @Test func apptainersOrderGetsAHint() throws {
        for source in ["docker://alpine:3.19", "oci:layout:t1", "oci-archive:x.tar", "docker-archive:y.tar"] {
            let hint = try #require(ArgumentOrder.swappedHint(source: "out.sif", output: source))
            #expect(hint.contains("sifter build \(source) out.sif"))
            #expect(ArgumentOrder.swappedHint(source: source, output: "out.sif") == nil)
        }
        #expect(ArgumentOrder.swappedHint(source: "a", output: "b") == nil)
        #expect(ArgumentOrder.swappedHint(source: "docker://a", output: "docker://b") == nil)
    }
}
