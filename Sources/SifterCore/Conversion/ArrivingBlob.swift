import ArchiveIO
import Distribution
import Foundation
import Rootfs

extension LayerBlob {
    /// A blob of this run's downloads, in sifter's cache: read while it arrives, vouched for
    /// by its download; one found complete in the cache is hashed by its reader.
    static func arriving(_ arrival: BlobArrival) -> LayerBlob {
        LayerBlob(location: arrival.path, unchangedWhileOpen: true) {
            let reader = try arrival.openReader()
            return Opened(source: ArrivalSource(reader: reader), verification: reader.verifiedByDownload
                ? .byWriter(confirm: { try arrival.confirm() }) : .byReader)
        }
    }
}

/// A download's reader as the flattener reads bytes.
final class ArrivalSource: ByteSource {
    let reader: BlobArrival.Reader

    init(reader: BlobArrival.Reader) { self.reader = reader }

    var size: Int64 { reader.arrival.size }

    func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try reader.read(at: offset, into: buffer)
    }
}
