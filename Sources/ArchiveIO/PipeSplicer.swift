import CArchive
#if canImport(Glibc)
import Glibc
#endif

/// Hands the archive writer's output blocks to a pipe with vmsplice(2) instead of write(2).
///
/// write(2) into a pipe allocates a fresh page for every 4 KiB and copies into it, and the
/// reader then frees each page again: for a 1 GB tar stream into mksquashfs that is about a
/// quarter of a core-second on each side, on a machine whose cores mksquashfs already keeps
/// busy. vmsplice maps the writer's own pages into the pipe instead.
///
/// The pipe then refers to our memory until the reader has read it, so a block must not be
/// reused before that. Blocks are copied into a ring of page-aligned buffers: once a whole
/// buffer has been spliced the pipe holds at most its capacity, so every buffer more than
/// `capacity / blockSize` places back has been read, and the ring is twice that long.
/// The reader must read(2) the pipe (as mksquashfs does), not splice it onward.
///
/// The ring is mapped with mmap, not malloc'd: the writer may be gone while the reader still
/// reads the last blocks. munmap only drops our mapping (the pipe keeps the pages and their
/// bytes until they are read), whereas free() could hand them to the next malloc.
final class PipeSplicer {
    let fd: Int32
    private let blockSize: Int
    private let slots: Int
    private let ring: UnsafeMutableRawPointer
    private var next = 0

    /// Nil when `fd` is not a pipe (or its capacity is unknown): write(2) is used then.
    init?(fd: Int32, blockSize: Int) {
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFIFO else { return nil }
        // F_GETPIPE_SZ (Linux's 1024 + 8) is not exported to Swift.
        let capacity = Int(fcntl(fd, 1032))
        guard capacity > 0 else { return nil }
        let slots = 2 * ((capacity + blockSize - 1) / blockSize) + 2
        let memory = mmap(nil, slots * blockSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let memory, memory != MAP_FAILED else { return nil }
        self.fd = fd
        self.blockSize = blockSize
        self.slots = slots
        self.ring = memory
    }

    deinit { munmap(ring, slots * blockSize) }

    /// Sends `length` bytes from `bytes`; returns the count or -1 with errno set.
    func send(_ bytes: UnsafeRawPointer, _ length: Int) -> Int {
        var sent = 0
        while sent < length {
            let chunk = min(blockSize, length - sent)
            let slot = ring + next * blockSize
            next = (next + 1) % slots
            slot.copyMemory(from: bytes + sent, byteCount: chunk)
            var done = 0
            while done < chunk {
                let n = sifter_vmsplice(fd, slot + done, chunk - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return -1
                }
                done += n
            }
            sent += chunk
        }
        return sent
    }
}
