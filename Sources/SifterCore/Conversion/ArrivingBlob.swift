import ArchiveIO
import Distribution
import Foundation
import Rootfs

extension LayerBlob {
    /// A blob of this run's downloads, in sifter's cache: read while it arrives, vouched for
    /// by its download; one found complete in the cache is hashed by its reader.
    static func arriving(_ arrival: BlobArrival) -> LayerBlob {
        LayerBlob(location: arrival.path, unchangedWhileOpen: true) {
            let opened = try arrival.openForReading()
            let source = ArrivalSource(arrival: arrival, descriptor: opened.fd)
            return Opened(source: source, verification: opened.verifiedByDownload
                ? .byWriter(confirm: { try arrival.confirm() }) : .byReader)
        }
    }
}

/// The bytes of a blob as they arrive: a read waits until the download has written them.
final class ArrivalSource: ByteSource {
    let arrival: BlobArrival
    /// Our own descriptor of the file being written, closed when the source is released.
    private let descriptor: Int32

    var size: Int64 { arrival.size }

    init(arrival: BlobArrival, descriptor: Int32) {
        self.arrival = arrival
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, offset < size else { return 0 }
        // Whole buffers, as a regular file gives them: a decompressor expects a header in one
        // piece, and fewer wake-ups cost less.
        let wanted = offset + min(Int64(buffer.count), size - offset)
        var available = offset
        while available < wanted {
            let now = try arrival.readable(beyond: available)
            if now <= available { break }
            available = now
        }
        let length = Int(min(available, wanted) - offset)
        var done = 0
        while done < length {
            // The descriptor is shared with the writer (a duplicate): read at our own offset.
            let n = pread(descriptor, base + done, length - done, off_t(offset + Int64(done)))
            if n > 0 {
                done += n
            } else if n == 0 {
                break
            } else if errno != EINTR {
                throw SifterError.io(path: arrival.path, operation: "read", reason: String(cString: strerror(errno)))
            }
        }
        return done
    }
}
