import ArchiveIO
import OCISpec

/// One layer blob to flatten, in manifest order (lowest first).
public struct LayerInput: Sendable {
    /// The blob's digest as stored (compressed); checked against what is read.
    public var digest: Digest
    /// Size of the blob in bytes; checked against what is read.
    public var size: Int64
    /// The digest of the uncompressed tar (the config's `rootfs.diff_ids` entry), checked in
    /// the same read when given.
    public var diffID: Digest?
    /// The descriptor's media type; must be one of `MediaType.layerTypes`.
    public var mediaType: String
    public var blob: LayerBlob

    public init(digest: Digest, size: Int64, diffID: Digest? = nil, mediaType: String, blob: LayerBlob) {
        self.digest = digest
        self.size = size
        self.diffID = diffID
        self.mediaType = mediaType
        self.blob = blob
    }
}

/// How a layer blob is read, and who vouches for its digest.
public struct LayerBlob: Sendable {
    /// Who checks that the bytes read are the blob's.
    public enum Verification: Sendable {
        /// The flattener hashes every byte it reads and checks size and digest.
        case byReader
        /// The writer of the bytes (a download under way) checks them as they arrive.
        /// `confirm` waits for its verdict: true when the bytes a reader was given are the
        /// verified ones, false when some were replaced afterwards (a resumed download), in
        /// which case the flattener reads the layer again and hashes it itself; it throws the
        /// writer's failure.
        case byWriter(confirm: @Sendable () throws -> Bool)
    }

    /// An open blob: its bytes, and who vouches for them.
    public struct Opened: Sendable {
        public var source: any ByteSource
        public var verification: Verification

        public init(source: any ByteSource, verification: Verification) {
            self.source = source
            self.verification = verification
        }
    }

    /// Opens a reader over the blob's bytes (it may wait until they begin to arrive).
    public var open: @Sendable () throws -> Opened
    /// Where the bytes live (a file), for messages.
    public var location: String
    /// Nobody but sifter writes these bytes, and never in place (sifter's blob cache: files
    /// are replaced by rename), so a source kept open reads the same bytes twice and the
    /// second pass need not hash them again. False for files the user owns (an OCI layout).
    public var unchangedWhileOpen: Bool

    public init(location: String, unchangedWhileOpen: Bool, open: @escaping @Sendable () throws -> Opened) {
        self.location = location
        self.open = open
        self.unchangedWhileOpen = unchangedWhileOpen
    }

    /// A complete file, hashed by the flattener.
    public static func file(_ path: String, unchangedWhileOpen: Bool = false) -> LayerBlob {
        LayerBlob(location: path, unchangedWhileOpen: unchangedWhileOpen) {
            Opened(source: try FileSource(path: path), verification: .byReader)
        }
    }
}

/// Decompression filters accepted inside a layer blob (libarchive's names). Compression is
/// never taken from the media type: it is detected from the magic bytes, as ggcr's
/// `Uncompressed()` does.
enum LayerCompression {
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

    /// Says whether the first `FlattenSummary.probeLength` bytes of an executable regular file
    /// end Apptainer's walk for the partition's architecture (`machine.ArchFromContainer`):
    /// the summary then reports the first such file in walk order (`firstExecutableHead`).
    public var executableProbe: (@Sendable ([UInt8]) -> Bool)?
    /// Write symlink targets that do not fit the ustar field as GNU long-link records, not pax
    /// `linkpath` records: mksquashfs before 4.6 strips a leading `/`, `./` or `../` from the
    /// latter.
    public var gnuLongLinkTargets = false
    /// Told how many compressed layer bytes each pass has read, from the reading threads
    /// (several at once in the index pass): once with nothing read when the pass starts, then
    /// as blocks are read.
    public var progress: (@Sendable (FlattenProgress) -> Void)?

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
    public var digest: Digest
    /// Decompression filters found (empty for a plain tar).
    public var compression: [String]
    public var compressedBytes: Int64
    public var uncompressedBytes: Int64
    /// Tar members, whiteouts included.
    public var entries: Int
    public var whiteouts: Int
    /// Members of this layer whose content survives in the output (each written once).
    public var emittedObjects: Int
    /// Seconds spent indexing (pass 1, on a worker thread) and writing (pass 2; 0 when
    /// nothing survived).
    public var indexSeconds: Double
    public var emitSeconds: Double
}

/// How far one pass of the flattener has read its layers.
public struct FlattenProgress: Sendable, Hashable {
    public enum Pass: Sendable, Hashable {
        /// Every layer, read on worker threads (while it downloads) into the index.
        case index
        /// The layers whose members survive, read again into the output stream.
        case stream
    }

    public var pass: Pass
    /// Compressed blob bytes read in this pass (a layer read twice counts once, at most the total).
    public var completedBytes: Int64
    /// The blob sizes this pass reads, from the layer descriptors.
    public var totalBytes: Int64

    public init(pass: Pass, completedBytes: Int64, totalBytes: Int64) {
        self.pass = pass
        self.completedBytes = completedBytes
        self.totalBytes = totalBytes
    }
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
    /// file.
    public var probeHead: [UInt8]?
    /// The first bytes of the first executable regular file, in Apptainer's walk order, that
    /// `FlattenOptions.executableProbe` accepts.
    public var firstExecutableHead: [UInt8]?
    /// The latest time in the tree (sifter's own files and `defaultTime` included): the
    /// root's time, and what SOURCE_DATE_EPOCH must be for mksquashfs to lower no time.
    public var latestTime: Int64 = 0

    public static let probeLength = 64
}
