/// How sifter runs mksquashfs. Defaults match `apptainer build`: gzip, 128 KiB blocks,
/// mksquashfs's defaults for xattrs and fragments.
public struct MksquashfsOptions: Sendable, Equatable {
    public var executable = "mksquashfs"
    public var compression = "gzip"
    /// Block size in bytes; nil keeps mksquashfs's default (128 KiB).
    public var blockSize: Int?
    /// Compressor threads; nil lets mksquashfs use every core.
    public var processors: Int?

    public static let compressors: Set<String> = ["gzip", "zstd", "xz", "lz4", "lzo", "lzma"]

    public init() {}

    /// The command line for a tar stream on stdin written into `output` at `offset`, with
    /// `root` as the root directory (a tar stream's `./` member does not set it).
    /// `-noappend` makes mksquashfs truncate the file and zero-fill the bytes before `offset`;
    /// `-exit-on-error` turns the errors it otherwise only reports (a hardlink to a target not
    /// yet seen) into a failure.
    public func arguments(output: String, offset: Int64, root: SquashfsRoot = SquashfsRoot()) throws(SquashfsError) -> [String] {
        guard Self.compressors.contains(compression) else {
            throw .invalidOption("unknown compression \"\(compression)\"; one of \(Self.compressors.sorted().joined(separator: ", "))")
        }
        var args = ["-", output, "-tar", "-noappend", "-no-progress", "-quiet", "-exit-on-error", "-comp", compression]
        if offset > 0 { args += ["-offset", String(offset)] }
        if let blockSize {
            guard blockSize >= 4096, blockSize <= 1 << 20, blockSize & (blockSize - 1) == 0 else {
                throw .invalidOption("block size \(blockSize) must be a power of two from 4096 to 1048576")
            }
            args += ["-b", String(blockSize)]
        }
        if let processors {
            guard processors > 0 else { throw .invalidOption("processors must be at least 1") }
            args += ["-processors", String(processors)]
        }
        args += ["-root-mode", String(root.mode & 0o7777, radix: 8), "-root-uid", String(root.uid),
                 "-root-gid", String(root.gid), "-root-time", String(root.time)]
        return args
    }
}

/// The root directory of the image: mksquashfs needs it on its command line, before the
/// stream. `time` is also the stream's latest time, passed as SOURCE_DATE_EPOCH (the image's
/// creation time, and a ceiling that then lowers no other time).
public struct SquashfsRoot: Sendable, Equatable {
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Seconds since the epoch, within squashfs's unsigned 32-bit range.
    public var time: UInt32

    public init(mode: UInt32 = 0o755, uid: UInt32 = 0, gid: UInt32 = 0, time: UInt32 = 0) {
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.time = time
    }
}

/// A mksquashfs version, and what that version does in tar mode.
public struct MksquashfsVersion: Sendable, Comparable, CustomStringConvertible {
    public let text: String
    let numbers: [Int]

    /// Parses `4.5.1`, `4.6`, `4.7.5-git`: the leading dotted numbers.
    public init?(_ text: String) {
        let numbers = text.split(separator: ".").map { Int($0.prefix(while: \.isNumber)) }
        guard numbers.count >= 2, let major = numbers[0], let minor = numbers[1] else { return nil }
        self.text = text
        self.numbers = [major, minor] + numbers.dropFirst(2).map { $0 ?? 0 }
    }

    public var description: String { text }

    /// 4.6 and later honour `-root-uid`, `-root-gid` and `-root-time` in tar mode; 4.5.1
    /// gives the root the owner of the process and the clock's time (at most
    /// SOURCE_DATE_EPOCH).
    public var setsRootOwnerAndTimeInTarMode: Bool { self >= MksquashfsVersion("4.6")! }

    /// 4.5.1 strips a leading `/`, `./` or `../` from a pax `linkpath` (it takes it for an
    /// archive path), so long or non-ASCII symlink targets must reach it another way.
    public var readsPaxLinkTargetsExactly: Bool { self >= MksquashfsVersion("4.6")! }

    public static func < (lhs: MksquashfsVersion, rhs: MksquashfsVersion) -> Bool {
        lhs.numbers.lexicographicallyPrecedes(rhs.numbers)
    }

    public static func == (lhs: MksquashfsVersion, rhs: MksquashfsVersion) -> Bool { lhs.numbers == rhs.numbers }
}

/// Errors of the mksquashfs driver, keeping mksquashfs's own message.
public enum SquashfsError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidOption(String)
    case notFound(executable: String)
    case launchFailed(executable: String, reason: String)
    /// mksquashfs failed; `output` is the file it was writing (for a full disk, say).
    case failed(executable: String, status: Int32, output: String?, message: String)
    case killed(executable: String, signal: Int32, message: String)
    /// mksquashfs's version cannot give the root directory this owner from this process.
    case rootOwnerUnavailable(version: String, uid: UInt32, gid: UInt32, reason: String)

    public var description: String {
        switch self {
        case let .invalidOption(reason): reason
        case let .notFound(executable): "\(executable) not found (install squashfs-tools, or pass --mksquashfs PATH)"
        case let .launchFailed(executable, reason): "could not start \(executable): \(reason)"
        case let .failed(executable, status, output, message):
            "\(executable) failed with exit status \(status)\(output.map { " writing \($0)" } ?? ""): "
                + (message.isEmpty ? "(no message)" : message)
        case let .killed(executable, signal, message): "\(executable) was killed by signal \(signal): \(message)"
        case let .rootOwnerUnavailable(version, uid, gid, reason):
            "mksquashfs \(version) gives the image's root directory the owner of the process that runs it, "
                + "and the image wants \(uid):\(gid); \(reason). Use squashfs-tools 4.6 or later (--mksquashfs PATH), "
                + "which sets it from the command line, or run sifter where user namespaces are allowed"
        }
    }
}
