import Foundation
import Hashing
import SIF

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
        let hashing = Thread { prefix.run() }
        hashing.stackSize = 1 << 20
        hashing.start()

        let bytes: [UInt8]
        do {
            bytes = try measure(image, excluding: [reserved.id]).encoded()
        } catch {
            prefix.wait()
            throw error
        }
        var hasher = try prefix.wait().get()
        guard Int64(bytes.count) == length else {
            throw SifterError.io(path: image.path, operation: "write \(objectName)",
                                 reason: "\(bytes.count) bytes, \(length) reserved")
        }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard written == bytes.count else {
            throw SifterError.io(path: image.path, operation: "write \(objectName)", reason: String(cString: strerror(errno)))
        }
        hasher.update(bytes)
        return hasher.finalize()
    }
}

/// The sha256 of a file's first `length` bytes, computed on another thread; `wait` for it.
private final class PrefixHash: @unchecked Sendable {
    let fd: Int32
    let length: Int64
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<SHA256Hasher, any Error> = .failure(CancellationError())

    init(fd: Int32, length: Int64) {
        self.fd = fd
        self.length = length
    }

    func run() {
        defer { done.signal() }
        result = Result {
            var hasher = try SHA256Hasher()
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: SHA256.chunkSize, alignment: 16)
            defer { buffer.deallocate() }
            var position: Int64 = 0
            while position < length {
                let n = pread(fd, buffer.baseAddress, Int(min(Int64(buffer.count), length - position)), off_t(position))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw HashingError.unexpectedEndOfFile(expected: UInt64(length), actual: UInt64(position)) }
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                position += Int64(n)
            }
            return hasher
        }
    }

    /// Waits for the hash; returns it once (later calls only wait).
    @discardableResult
    func wait() -> Result<SHA256Hasher, any Error> {
        done.wait()
        done.signal()
        return result
    }
}
