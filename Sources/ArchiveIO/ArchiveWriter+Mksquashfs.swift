import CArchive
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the writer changes in a member so that every squashfs-tools tar reader (4.5.1, 4.6.1
/// and 4.7.5 were checked) reads it as written. The stream is meant for `mksquashfs -tar`.
enum MksquashfsTarForm {
    /// libarchive writes a pax `mtime` record for times outside [0, 2^31 - 1), with a
    /// fraction only when there are nanoseconds; mksquashfs 4.5.1 and 4.6.1 refuse a pax time
    /// without a fraction ("Failed to parse pax header"). One nanosecond gets it one; mksquashfs
    /// keeps whole seconds.
    static let paxTimeCutoff: Int64 = 0x7fff_ffff

    /// The entry as it should be written: itself, or a copy with a block-aligned sparse map
    /// (or none) and a pax time mksquashfs parses.
    static func prepare(_ entry: ArchiveEntry) throws -> ArchiveEntry {
        var copy: ArchiveEntry?
        func edited() throws -> ArchiveEntry {
            if let copy { return copy }
            let made = try entry.clone()
            copy = made
            return made
        }
        let regions = entry.sparseRegions
        if !regions.isEmpty {
            let aligned = entry.fileType == .regular && entry.hardlinkBytes == nil
                ? blockAligned(regions, size: entry.size) : nil
            if aligned != regions {
                try edited().sparseRegions = aligned ?? []
            }
        }
        if let time = entry.mtime, time.nanoseconds == 0, time.seconds < 0 || time.seconds >= paxTimeCutoff {
            try edited().mtime = ArchiveTimestamp(seconds: time.seconds, nanoseconds: 1)
        }
        return copy ?? entry
    }

    /// A sparse map squashfs-tools reads correctly, covering every byte of `regions`: its
    /// reader takes the first region's length as is but rounds every later one up to 512 (the
    /// padding GNU tar leaves after each), and when a hole ends the file it looks one entry
    /// past the map. libarchive writes regions back to back with no padding, so: every region
    /// starts and ends on a 512-byte boundary, except that the last one ends at the file's
    /// end; the first starts at 0 (so a single region never is both first and last); and
    /// data, not a hole, ends the file. The bytes this adds are holes of the source, zeros.
    /// Nil when the result would be the whole file: then the member is written as a plain one.
    static func blockAligned(_ regions: [ArchiveSparseRegion], size: Int64) -> [ArchiveSparseRegion]? {
        guard size > 0 else { return nil }
        let block: Int64 = 512
        var spans: [(start: Int64, end: Int64)] = [(0, min(block, size)), ((size - 1) / block * block, size)]
        for region in regions where region.length > 0 && region.offset >= 0 && region.offset < size {
            let end = min(size, region.offset + region.length)
            spans.append((region.offset / block * block, min(size, (end + block - 1) / block * block)))
        }
        spans.sort { $0.start < $1.start }
        var merged: [(start: Int64, end: Int64)] = []
        for span in spans {
            if let last = merged.last, span.start <= last.end {
                merged[merged.count - 1].end = max(last.end, span.end)
            } else {
                merged.append(span)
            }
        }
        if merged.count == 1 { return nil }
        return merged.map { ArchiveSparseRegion(offset: $0.start, length: $0.end - $0.start) }
    }
}

/// Read-only zero pages for writing holes: mapped once, never written, so they cost address
/// space only (a read maps the kernel's shared zero page). The writer passes holes to
/// libarchive as data, and libarchive drops the bytes that fall in a hole of the sparse map.
let zeroPages: (address: UInt, count: Int) = {
    let count = 1 << 30
    if let memory = mmap(nil, count, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
       memory != MAP_FAILED {
        return (UInt(bitPattern: memory), count)
    }
    let fallback = 64 << 10
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: fallback, alignment: 4096)
    buffer.initializeMemory(as: UInt8.self, repeating: 0, count: fallback)
    return (UInt(bitPattern: buffer), fallback)
}()

extension ArchiveWriter {
    /// Appends `count` zero bytes to the current member. In a hole of a sparse member they
    /// are not written, so a terabyte of hole costs a few calls, not a terabyte of zeros.
    public func writeZeros(_ count: Int64) throws {
        guard let base = UnsafeRawPointer(bitPattern: zeroPages.address) else { return }
        var left = count
        while left > 0 {
            let chunk = Int(min(left, Int64(zeroPages.count)))
            try writeData(UnsafeRawBufferPointer(start: base, count: chunk))
            left -= Int64(chunk)
        }
    }
}
