import ArchiveIO

/// One layer blob to flatten, in manifest order (lowest first).
public struct LayerInput: Sendable, Hashable {
    /// `sha256:<hex>` of the blob as stored (compressed); verified while reading.
    public var digest: String
    /// Size of the blob in bytes; verified while reading.
    public var size: Int64
    /// `sha256:<hex>` of the uncompressed tar (the config's `rootfs.diff_ids` entry), verified
    /// in the same pass when given.
    public var diffID: String?
    /// The descriptor's media type; must be a layer type (see `LayerMediaTypes.supported`).
    public var mediaType: String
    /// The blob file on disk.
    public var path: String
    /// Set while the blob is still downloading: it is read as it arrives, and its digest and
    /// size are the downloader's to check (`confirm`), not re-hashed here.
    public var growing: GrowingFile?

    public init(digest: String, size: Int64, diffID: String? = nil, mediaType: String, path: String,
                growing: GrowingFile? = nil) {
        self.digest = digest
        self.size = size
        self.diffID = diffID
        self.mediaType = mediaType
        self.path = path
        self.growing = growing
    }

    public static func == (lhs: LayerInput, rhs: LayerInput) -> Bool {
        (lhs.digest, lhs.size, lhs.diffID, lhs.mediaType, lhs.path) == (rhs.digest, rhs.size, rhs.diffID, rhs.mediaType, rhs.path)
            && (lhs.growing == nil) == (rhs.growing == nil)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(digest)
        hasher.combine(path)
    }
}

/// Layer media types the flattener accepts. Compression is never taken from the media type:
/// libarchive detects gzip/zstd (or none) from the magic bytes, as ggcr's `Uncompressed()` does.
public enum LayerMediaTypes {
    public static let supported: Set<String> = [
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.diff.tar",
    ]

    /// Decompression filters accepted inside a layer blob (libarchive's names).
    static let allowedFilters: Set<String> = ["gzip", "zstd"]
}

/// A file sifter adds to the tree after all layers (Apptainer's runtime files). It is applied
/// like an entry of one more layer: its parent path is resolved inside the tree (symlinks
/// followed, never leaving the root), missing parents are created (0755 root:root,
/// `FlattenOptions.defaultTime`), and a directory onto a directory only updates metadata.
public struct SyntheticEntry: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case file(contents: [UInt8])
        case directory
        case symlink(target: String)
    }

    /// When the entry is applied, given what the image already has at `path`.
    public enum Policy: Sendable, Hashable {
        /// Always (what Apptainer does for its runtime files).
        case replace
        /// Only if nothing exists at the path (Apptainer's `makeDirs`).
        case ifAbsent
        /// Only if nothing or a symlink exists at the path (Apptainer's `makeSymlinks`).
        case ifAbsentOrSymlink
        /// Always, but through a symlink found at the path: the entry goes where the link leads
        /// inside the root (missing parents created) and the link stays, as Apptainer's
        /// `makeFile` writes /etc/hosts and /etc/resolv.conf through its `os.Root`. A link that
        /// leads to a directory, or cannot be resolved, is replaced.
        case replaceThroughSymlink
        /// Always; what the image has at the path is first moved into `directory` (created
        /// if missing) as `prefix` followed by the number of entries already there, as
        /// Apptainer's `insertDefinition` keeps `bootstrap_history/Apptainer0`, `…1`, ….
        case replaceKeepingHistory(directory: String, prefix: String)
    }

    /// Path inside the image, e.g. `.singularity.d/env/01-base.sh` (a leading `/` is allowed).
    public var path: String
    public var kind: Kind
    /// Permission bits including setuid/setgid/sticky.
    public var mode: UInt32
    public var uid: Int64
    public var gid: Int64
    /// Seconds since the epoch.
    public var mtime: Int64
    public var policy: Policy

    public init(path: String, kind: Kind, mode: UInt32, uid: Int64 = 0, gid: Int64 = 0, mtime: Int64,
                policy: Policy = .replace) {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
        self.policy = policy
    }
}

public struct FlattenOptions: Sendable {
    /// Named in every error message.
    public var imageName: String
    /// Time given to directories no entry describes (implicit parents, a root no layer sets)
    /// and to entries without an mtime; fixed so the output is reproducible.
    public var defaultTime: Int64
    /// If set, every later mtime is lowered to this (SOURCE_DATE_EPOCH-style clamping).
    public var mtimeClamp: Int64?
    /// Files added after the layers, in order.
    public var synthetic: [SyntheticEntry]
    /// A path whose first bytes the summary reports (`bin/sh`, for its ELF header): resolved
    /// through symlinks inside the tree; reported only when it ends at a regular file.
    public var probePath: String?

    public init(imageName: String, defaultTime: Int64 = 0, mtimeClamp: Int64? = nil, synthetic: [SyntheticEntry] = [],
                probePath: String? = nil) {
        self.imageName = imageName
        self.defaultTime = defaultTime
        self.mtimeClamp = mtimeClamp
        self.synthetic = synthetic
        self.probePath = probePath
    }
}

/// The final root directory's metadata. The stream never carries a `./` entry (mksquashfs
/// ignores it); pass these as `-root-mode`, `-root-uid`, `-root-gid`, `-root-time`.
public struct RootMetadata: Sendable, Hashable {
    /// Permission bits (e.g. 0o755).
    public var mode: UInt32
    public var uid: Int64
    public var gid: Int64
    public var mtime: Int64
    /// Names of xattrs a layer set on `/`: they cannot be passed to mksquashfs and are dropped.
    public var droppedXattrNames: [String]

    public init(mode: UInt32, uid: Int64, gid: Int64, mtime: Int64, droppedXattrNames: [String] = []) {
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
        self.droppedXattrNames = droppedXattrNames
    }
}

/// What happened to one layer.
public struct LayerSummary: Sendable, Hashable {
    public var digest: String
    /// Decompression filters found (empty for a plain tar).
    public var compression: [String]
    public var compressedBytes: Int64
    public var uncompressedBytes: Int64
    /// Tar members, whiteouts included.
    public var entries: Int
    public var whiteouts: Int
    /// Members of this layer whose content survives in the output (each written once).
    public var emittedObjects: Int
    /// Seconds spent indexing (pass 1) and emitting (pass 2; 0 when nothing survived).
    public var indexSeconds: Double
    public var emitSeconds: Double
}

/// Counts of the written stream, and what the caller must pass to mksquashfs.
public struct FlattenSummary: Sendable, Hashable {
    public var root: RootMetadata
    /// Directories written, the root excluded.
    public var directories = 0
    public var regularFiles = 0
    /// Extra names of a file (written as tar hard links after the first name).
    public var hardlinks = 0
    public var symlinks = 0
    public var characterDevices = 0
    public var blockDevices = 0
    public var fifos = 0
    /// Bytes of regular-file content written (holes of sparse files included).
    public var fileDataBytes: Int64 = 0
    public var layers: [LayerSummary] = []
    /// Non-fatal notes (libarchive warnings, dropped root xattrs), in order.
    public var warnings: [String] = []
    /// The first `FlattenSummary.probeLength` bytes of `FlattenOptions.probePath`, if it is a
    /// file (the one-pass flattener keeps them only for a file that starts like ELF).
    public var probeHead: [UInt8]?
    /// The latest time in the tree (sifter's own files and `defaultTime` included): the
    /// root's time, and what SOURCE_DATE_EPOCH must be for mksquashfs to lower no time.
    public var latestTime: Int64 = 0

    public static let probeLength = 64
}
