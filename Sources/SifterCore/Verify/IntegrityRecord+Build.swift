import Foundation
import Hashing
import SIF
import Synchronization

extension IntegrityRecord {
    /// `append` for the builder, which also needs the sha256 of the whole finished file: the
    /// two long reads (every object for the record, the file for its digest) run on two
    /// threads at once instead of one after the other.
    ///
    /// The record's length does not depend on the digests it holds (fixed-width hex), so its
    /// place is reserved first; the header and descriptors are then final, and the file is
    /// hashed up to the record while the objects are measured. The bytes written are exactly
    /// those `append` writes.
    static func appendHashingFile(to image: SIFImage, time: Int64) throws -> SHA256Digest {
        let placeholderDigest = String(repeating: "0", count: 64)
        let placeholder = IntegrityRecord(
            header: fields(of: image.header),
            objects: image.descriptors.map { fields(of: $0, sha256: placeholderDigest) })
        let length = Int64(try placeholder.encoded().count)
        let offset = image.header.dataOffset + image.header.dataSize
        guard truncate(image.path, off_t(offset + length)) == 0 else {
            throw SifterError.io(path: image.path, operation: "truncate", reason: String(cString: strerror(errno)))
        }
        let reserved = try image.add(
            try ObjectInput(.genericJSON, source: .inPlace(size: length), name: objectName, time: time), time: time)
        guard reserved.offset == offset else {
            throw SifterError.io(path: image.path, operation: "reserve \(objectName)",
                                 reason: "placed at \(reserved.offset), not after the data at \(offset)")
        }

        let fd = open(image.path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw SifterError.io(path: image.path, operation: "open", reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let prefix = PrefixHash(fd: fd, length: offset)

        let bytes: [UInt8]
        do {
            bytes = try measure(image, excluding: [reserved.id]).encoded()
        } catch {
            _ = try? prefix.finish(appending: nil)
            throw error
        }
        guard Int64(bytes.count) == length else {
            _ = try? prefix.finish(appending: nil)
            throw SifterError.io(path: image.path, operation: "write \(objectName)",
                                 reason: "\(bytes.count) bytes, \(length) reserved")
        }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + written, $0.count - written, off_t(offset) + off_t(written)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                _ = try? prefix.finish(appending: nil)
                throw SifterError.io(path: image.path, operation: "write \(objectName)", reason: reason)
            }
            written += n
        }
        return try prefix.finish(appending: bytes)
    }
}

/// The sha256 of a file's first `length` bytes followed by some more, computed on its own
/// thread: the prefix starts at once, the rest is handed over by `finish`.
private final class PrefixHash: Sendable {
    private struct Handover {
        /// Set by `finish`: the bytes after the prefix, or nil to give up.
        var tail: [UInt8]??
        var digest: Result<SHA256Digest, any Error>?
    }

    private let state = Mutex(Handover())
    private let tailReady = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    init(fd: Int32, length: Int64) {
        let thread = Thread { [self] in run(fd: fd, length: length) }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Hands over the bytes after the prefix (nil: give up) and waits for the digest.
    func finish(appending tail: [UInt8]?) throws -> SHA256Digest {
        state.withLock { $0.tail = .some(tail) }
        tailReady.signal()
        done.wait()
        guard let digest = state.withLock({ $0.digest }) else { throw CancellationError() }
        return try digest.get()
    }

    private func run(fd: Int32, length: Int64) {
        defer { done.signal() }
        var hasher: SHA256Hasher
        var failure: (any Error)?
        do {
            hasher = try SHA256Hasher()
        } catch {
            tailReady.wait()
            state.withLock { $0.digest = .failure(error) }
            return
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: SHA256.chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var position: Int64 = 0
        while position < length, failure == nil {
            let n = pread(fd, buffer.baseAddress, Int(min(Int64(buffer.count), length - position)), off_t(position))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                failure = HashingError.unexpectedEndOfFile(expected: UInt64(length), actual: UInt64(position))
                break
            }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            position += Int64(n)
        }
        tailReady.wait()
        let tail = state.withLock { $0.tail ?? nil }
        guard failure == nil, let tail else {
            state.withLock { $0.digest = failure.map { .failure($0) } }
            return
        }
        hasher.update(tail)
        let digest = hasher.finalize()
        state.withLock { $0.digest = .success(digest) }
    }
}
