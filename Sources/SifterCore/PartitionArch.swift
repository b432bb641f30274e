import OCISpec
import SIF

/// The architecture of the SIF's primary partition (and so of its header), chosen as Apptainer
/// chooses it (`internal/pkg/util/machine/machine.go` `ArchFromContainer`, used by the SIF
/// assembler): the ELF header of `/bin/sh`, else of the first executable ELF file of the tree;
/// then, where Apptainer takes the host's architecture at once, sifter first tries the image
/// config's, so a cross-built image without a readable ELF still gets its own. It never fails:
/// an empty or unknown config architecture falls through to the host's.
public enum PartitionArch {
    /// Where the choice came from.
    public enum Source: String, Sendable, Equatable {
        case shell, executable, config, host
    }

    public struct Choice: Sendable, Equatable {
        public var arch: Arch
        public var source: Source
    }

    /// What an ELF header says, read as Go's `debug/elf` and Apptainer's `formats` table would.
    public enum Reading: Sendable, Equatable {
        /// Not the ELF magic: Apptainer's walk passes over it.
        case notELF
        /// The magic, but a header `elf.Open` refuses: the walk passes over it too.
        case malformed
        /// A readable header whose machine, class and byte order `formats` lists.
        case arch(String)
        /// A readable header `formats` does not list (`ErrUnknownArch`): the walk stops there.
        case unknownArch
    }

    /// `formats` in machine.go (main): e_machine, ELF class, little-endian → Go name. Matched
    /// exactly, as `ArchFromElf` does, including its ppc64 row (class 32, big-endian), so a
    /// 64-bit big-endian ppc64 binary reads as unknown there and here.
    static let formats: [(machine: UInt16, elfClass: UInt8, littleEndian: Bool, arch: String)] = [
        (3, 1, true, "386"), (6, 1, true, "386"), (62, 2, true, "amd64"),
        (40, 1, true, "arm"), (40, 1, false, "armbe"), (183, 2, true, "arm64"), (183, 2, false, "arm64be"),
        (22, 2, false, "s390x"), (21, 1, false, "ppc64"), (21, 2, true, "ppc64le"),
        (8, 1, false, "mips"), (8, 1, true, "mipsle"), (8, 2, false, "mips64"), (8, 2, true, "mips64le"),
        (243, 2, true, "riscv64"), (258, 2, true, "loong64"),
    ]

    /// Reads the first bytes of a file (`FlattenSummary.probeLength`, 64, cover both header
    /// sizes). `elf.NewFile` refuses a class or data encoding other than 1 or 2, an identifier
    /// version other than 1, a short header and an `e_version` that differs from it; the
    /// section and program header checks need the whole file and are not repeated here.
    public static func read(_ head: [UInt8]) -> Reading {
        guard head.count >= 4, head[0] == 0x7F, head[1] == 0x45, head[2] == 0x4C, head[3] == 0x46 else { return .notELF }
        guard head.count >= 16, (1...2).contains(head[4]), (1...2).contains(head[5]), head[6] == 1 else { return .malformed }
        let elfClass = head[4]
        let littleEndian = head[5] == 1
        guard head.count >= (elfClass == 2 ? 64 : 52) else { return .malformed }
        func integer(_ offset: Int, _ size: Int) -> UInt32 {
            var value: UInt32 = 0
            for index in 0..<size {
                let byte = UInt32(head[offset + (littleEndian ? size - 1 - index : index)])
                value = value << 8 | byte
            }
            return value
        }
        guard integer(20, 4) == 1 else { return .malformed }
        let machine = UInt16(integer(18, 2))
        guard let row = formats.first(where: { $0.machine == machine && $0.elfClass == elfClass && $0.littleEndian == littleEndian }) else {
            return .unknownArch
        }
        return .arch(row.arch)
    }

    /// The hook for the flattener: whether a regular file with an execute bit, met in Apptainer's
    /// walk order, ends the walk (its head is ELF that `elf.Open` reads, whatever its machine).
    public static func endsWalk(_ head: [UInt8]) -> Bool {
        switch read(head) {
        case .arch, .unknownArch: true
        case .notELF, .malformed: false
        }
    }

    /// - Parameters:
    ///   - shellHead: the first bytes of `/bin/sh` (symlinks followed inside the root), if a file.
    ///   - firstExecutableHead: the first bytes of the first regular file with an execute bit,
    ///     in `filepath.Walk` order (depth first, names in byte order, symlinks not followed),
    ///     for which `endsWalk` is true; nil if there is none.
    ///   - configArchitecture: the image config's `architecture`, possibly empty or unknown.
    public static func choose(shellHead: [UInt8]?, firstExecutableHead: [UInt8]?, configArchitecture: String,
                              hostArchitecture: String = Platform.host.architecture) -> Choice {
        // Names SIF has no code for (armbe, arm64be) fall through, where Apptainer would fail.
        if let head = shellHead, case let .arch(name) = read(head), let arch = Arch(goName: name) {
            return Choice(arch: arch, source: .shell)
        }
        if let head = firstExecutableHead, case let .arch(name) = read(head), let arch = Arch(goName: name) {
            return Choice(arch: arch, source: .executable)
        }
        let config = Platform(os: "linux", architecture: configArchitecture).normalized.architecture
        if let arch = Arch(goName: config) {
            return Choice(arch: arch, source: .config)
        }
        return Choice(arch: Arch(goName: hostArchitecture) ?? .unknown, source: .host)
    }
}
