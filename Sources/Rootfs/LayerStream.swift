import ArchiveIO
import Hashing
import OCISpec

/// Running digests fed from the reader's observers, each on a thread of its own, so that
/// hashing the blob and the tar overlaps decompressing them.
private final class StreamDigests {
    let blob: BackgroundSHA256?
    let tar: BackgroundSHA256?

    init(hashBlob: Bool, hashTar: Bool) {
        blob = hashBlob ? BackgroundSHA256() : nil
        tar = hashTar ? BackgroundSHA256() : nil
    }

    /// A stream given up half way must not leave its hashing threads waiting.
    deinit {
        blob?.abandon()
        tar?.abandon()
    }
}

/// One read of one layer blob: its members in order, and on `finish()` the blob's size and,
/// where this read hashes them, its digest and diff_id checked against the `LayerInput`.
/// Every error is a `RootfsError` naming the image, the layer and the last member read.
final class LayerStream {
    let input: LayerInput
    let imageName: String
    private let reader: ObservedTarReader
    private let digests: StreamDigests
    private(set) var lastPath: [UInt8]?
    private(set) var ordinal = -1
    private var validation = MemberValidation()

    var layerName: String { input.digest.description }

    /// Checks what can be checked before reading (media type, the source's size), then starts
    /// reading `source` from its first byte. `hashBlob` checks the blob digest, `hashTar` the
    /// diff_id (when the input has one). `onBytesRead` is told the size of each block of the
    /// blob read, as it is read.
    init(_ input: LayerInput, source: any ByteSource, imageName: String, hashBlob: Bool, hashTar: Bool,
         onBytesRead: ((Int) -> Void)? = nil) throws(RootfsError) {
        self.input = input
        self.imageName = imageName
        guard MediaType.layerTypes.contains(input.mediaType) else {
            throw .unsupportedMediaType(image: imageName, layer: input.digest.description, mediaType: input.mediaType)
        }
        // A wrong size is caught before decompressing anything.
        guard source.size == input.size else {
            throw .sizeMismatch(image: imageName, layer: input.digest.description, expected: input.size, actual: source.size)
        }
        do {
            let digests = StreamDigests(hashBlob: hashBlob, hashTar: hashTar && input.diffID != nil)
            self.digests = digests
            reader = try ObservedTarReader(
                source: source,
                onFileBytes: { bytes in
                    digests.blob?.update(bytes)
                    onBytesRead?(bytes.count)
                },
                onTarBytes: { digests.tar?.update($0) })
        } catch {
            throw .unreadableLayer(image: imageName, layer: input.digest.description, entry: nil, message: "\(error)")
        }
        let filters = reader.filterNames
        guard filters.allSatisfy(LayerCompression.allowedFilters.contains), filters.count <= 1 else {
            throw .unsupportedCompression(image: imageName, layer: input.digest.description, filters: filters)
        }
    }

    var filterNames: [String] { reader.filterNames }
    var warnings: [String] { reader.warnings + (validation.warning.map { [$0] } ?? []) }

    /// The next member, checked by `MemberValidation` (its time possibly clamped), or nil at
    /// the end of the tar stream.
    func next() throws(RootfsError) -> ArchiveEntry? {
        let entry: ArchiveEntry
        do {
            guard let read = try reader.nextEntry() else { return nil }
            entry = read
        } catch ArchiveError.malformedHeader(let path?, let reason) {
            throw .invalidEntry(image: imageName, layer: layerName, entry: Paths.display(path), reason: reason)
        } catch {
            throw unreadable(error)
        }
        ordinal += 1
        lastPath = entry.pathnameBytes
        try validation.check(entry) { reason in
            .invalidEntry(image: imageName, layer: layerName, entry: Paths.display(lastPath ?? []), reason: reason)
        }
        return entry
    }

    /// Streams the current member's data; errors thrown by `body` pass through unchanged.
    func readData(_ body: (UnsafeRawBufferPointer, Int64) throws(RootfsError) -> Void) throws(RootfsError) {
        var bodyError: RootfsError?
        do {
            try reader.readDataBlocks { block, offset in
                do {
                    try body(block, offset)
                } catch {
                    bodyError = error as? RootfsError
                    throw error
                }
            }
        } catch {
            if let bodyError { throw bodyError }
            throw unreadable(error)
        }
    }

    /// Reads the rest of the blob and checks its size, and the digests this read hashed.
    func finish() throws(RootfsError) -> (compressed: Int64, uncompressed: Int64) {
        let totals: (fileBytes: Int64, tarBytes: Int64)
        do {
            totals = try reader.finish()
        } catch {
            throw unreadable(error)
        }
        do { try reader.close() } catch { throw unreadable(error) }
        guard totals.fileBytes == input.size else {
            throw .sizeMismatch(image: imageName, layer: layerName, expected: input.size, actual: totals.fileBytes)
        }
        do {
            if let blob = try digests.blob?.finalize().hex, blob != input.digest.hex {
                throw RootfsError.digestMismatch(image: imageName, layer: layerName, actual: "sha256:" + blob)
            }
            if let expected = input.diffID, let tar = try digests.tar?.finalize().hex, tar != expected.hex {
                throw RootfsError.diffIDMismatch(image: imageName, layer: layerName, expected: expected.description,
                                                 actual: "sha256:" + tar)
            }
        } catch let error as RootfsError {
            throw error
        } catch {
            throw unreadable(error)
        }
        return (totals.fileBytes, totals.tarBytes)
    }

    func unreadable(_ error: any Error) -> RootfsError {
        .unreadableLayer(image: imageName, layer: layerName, entry: lastPath.map(Paths.display), message: "\(error)")
    }
}
