/// How sifter runs mksquashfs. Defaults match `apptainer build`: gzip, 128 KiB blocks,
/// mksquashfs's defaults for xattrs and fragments.
public struct MksquashfsOptions: Sendable, Equatable {
    public var executable = "mksquashfs"
    public var compression = "gzip"
    /// Block size in bytes; nil keeps mksquashfs's default (128 KiB).
    public var blockSize: Int?
    /// Compressor threads; nil lets mksquashfs use every core.
    public var processors: Int?
    /// The root directory's metadata: a tar stream's `./` entry is ignored by mksquashfs.
    /// mksquashfs 4.5.1 honours `-root-mode` in tar mode but gives the root the owner of the
    /// process and ignores `-root-uid/-root-gid/-root-time`; `MksquashfsProcess` therefore runs
    /// it as root in a user namespace when sifter is not root, and sets the times below.
    public var rootMode: UInt32 = 0o755
    public var rootUID: UInt32 = 0
    public var rootGID: UInt32 = 0
    /// Passed as SOURCE_DATE_EPOCH: the superblock and root directory time, and a ceiling on
    /// every other time (so pass the latest time in the stream to change none of them).
    /// mksquashfs gives the root min(now, SOURCE_DATE_EPOCH): only a stream with times in the
    /// future makes the root's time depend on the clock.
    public var sourceDateEpoch: Int64?

    public static let compressors: Set<String> = ["gzip", "zstd", "xz", "lz4", "lzo", "lzma"]

    public init() {}

    /// The command line for a tar stream on stdin written into `output` at `offset`.
    /// `-noappend` makes mksquashfs truncate the file and zero-fill the bytes before `offset`;
    /// `-exit-on-error` turns the errors it otherwise only reports (a hardlink to a target not
    /// yet seen) into a failure.
    public func arguments(output: String, offset: Int64) throws(SquashfsError) -> [String] {
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
        args += ["-root-mode", String(rootMode & 0o7777, radix: 8), "-root-uid", String(rootUID), "-root-gid", String(rootGID)]
        return args
    }
}

/// Errors of the mksquashfs driver, keeping mksquashfs's own message.
public enum SquashfsError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidOption(String)
    case notFound(executable: String)
    case launchFailed(executable: String, reason: String)
    case failed(executable: String, status: Int32, message: String)
    case killed(executable: String, signal: Int32, message: String)
    case io(operation: String, errno: Int32)
    /// The image mksquashfs wrote is not what the root time patch expects.
    case invalidImage(String)

    public var description: String {
        switch self {
        case let .invalidOption(reason): reason
        case let .notFound(executable): "\(executable) not found (install squashfs-tools, or pass --mksquashfs PATH)"
        case let .launchFailed(executable, reason): "could not start \(executable): \(reason)"
        case let .failed(executable, status, message): "\(executable) failed with exit status \(status): \(message)"
        case let .killed(executable, signal, message): "\(executable) was killed by signal \(signal): \(message)"
        case let .io(operation, errno): "\(operation) failed (errno \(errno))"
        case let .invalidImage(reason): "unexpected squashfs image: \(reason)"
        }
    }
}
