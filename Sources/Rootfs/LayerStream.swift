import ArchiveIO
import Hashing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Running digests fed from the reader's observers (closures need a reference to mutate).
private final class StreamDigests {
    var blob: SHA256Hasher
    var tar: SHA256Hasher?

    init(hashTar: Bool) throws {
        blob = try SHA256Hasher()
        tar = hashTar ? try SHA256Hasher() : nil
    }
}

/// One pass over one layer blob: members in order, and on `finish()` the blob's size,
/// digest and (if asked) diff_id checked against the `LayerInput`. Every error is a
/// `RootfsError` naming the image, the layer and the last member read.
final class LayerStream {
    let input: LayerInput
    let imageName: String
    private let reader: ObservedTarReader
    private let digests: StreamDigests
    private let checkDiffID: Bool
    private(set) var lastPath: [UInt8]?
    private(set) var ordinal = -1
    private var validation = MemberValidation()

    /// Checks what can be checked before reading (media type, digest syntax, file size), then
    /// opens the blob. `checkDiffID` adds the uncompressed digest (second stream of hashing).
    init(_ input: LayerInput, imageName: String, checkDiffID: Bool) throws(RootfsError) {
        self.input = input
        self.imageName = imageName
        guard LayerMediaTypes.supported.contains(input.mediaType) else {
            throw .unsupportedMediaType(image: imageName, layer: input.digest, mediaType: input.mediaType)
        }
        guard (try? SHA256Digest(parsing: input.digest)) != nil else {
            throw .unsupportedDigest(image: imageName, layer: input.digest, digest: input.digest)
        }
        let diffID = checkDiffID ? input.diffID : nil
        if let diffID, (try? SHA256Digest(parsing: diffID)) == nil {
            throw .unsupportedDigest(image: imageName, layer: input.digest, digest: diffID)
        }
        self.checkDiffID = diffID != nil
        // A wrong size is caught before decompressing anything (a blob still arriving is
        // checked by its downloader).
        var info = stat()
        if input.growing == nil, stat(input.path, &info) == 0, Int64(info.st_size) != input.size {
            throw .sizeMismatch(image: imageName, layer: input.digest, expected: input.size, actual: Int64(info.st_size))
        }
        do {
            let digests = try StreamDigests(hashTar: diffID != nil)
            self.digests = digests
            // A blob this run is downloading is hashed by the downloader as it arrives (the
            // reader skips it and `finish` asks the downloader); any other blob is hashed here.
            reader = try ObservedTarReader(
                path: input.path,
                growing: input.growing,
                onFileBytes: { digests.blob.update($0) },
                onTarBytes: { bytes in digests.tar?.update(bytes) })
        } catch {
            throw .unreadableLayer(image: imageName, layer: input.digest, entry: nil, message: "\(error)")
        }
        let filters = reader.filterNames
        guard filters.allSatisfy(LayerMediaTypes.allowedFilters.contains), filters.count <= 1 else {
            throw .unsupportedCompression(image: imageName, layer: input.digest, filters: filters)
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
            throw .invalidEntry(image: imageName, layer: input.digest, entry: Paths.display(path), reason: reason)
        } catch {
            throw unreadable(error)
        }
        ordinal += 1
        lastPath = entry.pathnameBytes
        try validation.check(entry) { reason in
            .invalidEntry(image: imageName, layer: input.digest, entry: Paths.display(lastPath ?? []), reason: reason)
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

    /// Reads the rest of the blob and verifies size, digest and diff_id.
    func finish() throws(RootfsError) -> (compressed: Int64, uncompressed: Int64) {
        let totals: (fileBytes: Int64, tarBytes: Int64)
        do {
            totals = try reader.finish()
        } catch {
            throw unreadable(error)
        }
        do { try reader.close() } catch { throw unreadable(error) }
        if let growing = input.growing {
            // The downloader's verdict comes first: a failed download explains any oddity
            // the stream saw.
            let intact: Bool
            do { intact = try growing.confirm() } catch { throw unreadable(error) }
            guard intact else {
                throw .layerChanged(image: imageName, layer: input.digest, entry: nil,
                                    reason: "the download restarted after its first bytes had been read")
            }
        }
        guard totals.fileBytes == input.size else {
            throw .sizeMismatch(image: imageName, layer: input.digest, expected: input.size, actual: totals.fileBytes)
        }
        if !reader.fileVerifiedByWriter {
            let blob = digests.blob.finalize().description
            guard blob == input.digest else {
                throw .digestMismatch(image: imageName, layer: input.digest, actual: blob)
            }
        }
        if checkDiffID, let expected = input.diffID, let tar = digests.tar?.finalize().description, tar != expected {
            throw .diffIDMismatch(image: imageName, layer: input.digest, expected: expected, actual: tar)
        }
        return (totals.fileBytes, totals.tarBytes)
    }

    func unreadable(_ error: any Error) -> RootfsError {
        .unreadableLayer(image: imageName, layer: input.digest, entry: lastPath.map(Paths.display), message: "\(error)")
    }
}
