import Foundation
import OCISpec
#if canImport(Glibc)
import Glibc
#endif

/// One cached blob, for `sifter cache ls`.
public struct CacheEntry: Sendable, Hashable {
    public var digest: Digest
    public var size: Int64
    /// Last download or use (the file's modification time, see `BlobCache.markUsed`).
    public var lastUsed: Date
    public var path: String
    /// An unfinished download in `ingest/` (a later run resumes it), not a usable blob.
    public var partial = false
    /// For a partial: a running sifter holds its lock (it is being written now).
    public var inUse = false
}

/// What `prune` removed (or would remove, in a dry run).
public struct PruneReport: Sendable, Hashable {
    public var removed: [CacheEntry]
    public var freedBytes: Int64
    public var remainingCount: Int
    public var remainingBytes: Int64
    /// Abandoned partial downloads deleted along the way (their bytes are in `freedBytes`).
    public var partialsRemoved: Int
}

extension BlobCache {
    /// Every complete blob, most recently used first. Files in `blobs/sha256` whose names are
    /// not digests (editor droppings, a CI tool's metadata) are left out and left alone.
    public func list() throws(DistributionError) -> [CacheEntry] {
        let directory = root + "/blobs/sha256"
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw .cache(path: directory, reason: "cannot list: \(error.localizedDescription)")
        }
        var entries: [CacheEntry] = []
        for name in names {
            guard let digest = try? Digest(sha256Hex: name) else { continue }
            var info = stat()
            let path = directory + "/" + name
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            entries.append(CacheEntry(digest: digest, size: Int64(info.st_size), lastUsed: Self.modified(info), path: path))
        }
        return entries.sorted { $0.lastUsed != $1.lastUsed ? $0.lastUsed > $1.lastUsed : $0.digest < $1.digest }
    }

    /// Every complete blob and, with `includingPartials`, every partial download after them
    /// (a failed or interrupted run's, or one being written now: `inUse`).
    public func list(includingPartials: Bool) throws(DistributionError) -> [CacheEntry] {
        try list() + (includingPartials ? partials() : [])
    }

    /// Partial downloads in `ingest/`, newest first.
    public func partials() -> [CacheEntry] {
        let directory = root + "/ingest"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var entries: [CacheEntry] = []
        for name in names where name.hasSuffix(".partial") {
            guard let digest = try? Digest(sha256Hex: String(name.dropLast(8))) else { continue }
            let path = directory + "/" + name
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            entries.append(CacheEntry(digest: digest, size: Int64(info.st_size), lastUsed: Self.modified(info), path: path,
                                      partial: true, inUse: isLocked(directory + "/" + digest.hex + ".lock")))
        }
        return entries.sorted { $0.lastUsed != $1.lastUsed ? $0.lastUsed > $1.lastUsed : $0.digest < $1.digest }
    }

    /// Whether a live process holds a blob's ingest lock (flock dies with its owner).
    private func isLocked(_ lockPath: String) -> Bool {
        let fd = open(lockPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) == 0 else { return true }
        flock(fd, LOCK_UN)
        return false
    }

    private static func modified(_ info: stat) -> Date {
        Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
    }

    /// Total bytes of complete blobs.
    public func totalSize() throws(DistributionError) -> Int64 {
        try list().reduce(0) { $0 + $1.size }
    }

    /// Removes blobs unused for longer than `olderThan` seconds, then least recently used ones
    /// until the cache holds at most `maxSize` bytes, partial downloads included. Partials no
    /// running sifter holds (a failed or killed run's) go first under a size limit, with
    /// `olderThan` when older, and in any case after a day; one being written now stays (and
    /// counts). A blob another run is reading stays readable by it (unlink keeps open files
    /// alive); a run that has not opened it yet downloads it again.
    public func prune(maxSize: Int64? = nil, olderThan: TimeInterval? = nil, dryRun: Bool = false, now: Date = Date())
        throws(DistributionError) -> PruneReport
    {
        let partialAge = maxSize != nil ? -TimeInterval.infinity : min(olderThan ?? 86400, 86400)
        let (partialsRemoved, partialBytesFreed) = try prunePartials(olderThan: partialAge, dryRun: dryRun, now: now)
        // What stays: after a real run, what is left; in a dry run, what would be.
        let livePartialBytes = partials()
            .filter { !dryRun || $0.inUse || now.timeIntervalSince($0.lastUsed) <= partialAge }
            .reduce(0) { $0 + $1.size }
        var entries = try list()
        var removed: [CacheEntry] = []
        if let olderThan {
            let cutoff = now.addingTimeInterval(-olderThan)
            removed += entries.filter { $0.lastUsed < cutoff }
            entries.removeAll { $0.lastUsed < cutoff }
        }
        if let maxSize {
            var total = entries.reduce(0) { $0 + $1.size } + livePartialBytes
            // Oldest first: entries are sorted newest first.
            while total > maxSize, let oldest = entries.last {
                removed.append(oldest)
                total -= oldest.size
                entries.removeLast()
            }
        }
        removed.sort { $0.lastUsed != $1.lastUsed ? $0.lastUsed < $1.lastUsed : $0.digest < $1.digest }
        if !dryRun {
            for entry in removed where unlink(entry.path) != 0 && errno != ENOENT {
                throw .io(operation: "unlink", path: entry.path, errno: errno)
            }
        }
        return PruneReport(
            removed: removed, freedBytes: removed.reduce(0) { $0 + $1.size } + partialBytesFreed, remainingCount: entries.count,
            remainingBytes: entries.reduce(0) { $0 + $1.size } + livePartialBytes, partialsRemoved: partialsRemoved)
    }

    /// Removes partials (and lock files) older than `olderThan` seconds that no live process
    /// holds; returns how many partials and how many bytes.
    private func prunePartials(olderThan: TimeInterval, dryRun: Bool, now: Date) throws(DistributionError) -> (Int, Int64) {
        let directory = root + "/ingest"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return (0, 0) }
        var count = 0
        var bytes: Int64 = 0
        var stems = Set<String>()
        for name in names {
            if name.hasSuffix(".lock") { stems.insert(String(name.dropLast(5))) }
            if name.hasSuffix(".partial") { stems.insert(String(name.dropLast(8))) }
        }
        for stem in stems.map({ directory + "/" + $0 }) {
            let lockPath = stem + ".lock"
            var info = stat()
            let partialExists = stat(stem + ".partial", &info) == 0
            let age = partialExists ? now.timeIntervalSince1970 - Double(info.st_mtim.tv_sec) : .infinity
            guard age > olderThan else { continue }
            // Only with the lock held: a downloader holding it is alive and owns the partial.
            let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            if partialExists {
                count += 1
                bytes += Int64(info.st_size)
            }
            if !dryRun {
                unlink(stem + ".partial")
                // Unlinked while locked: IngestLock notices the inode change and reopens.
                unlink(lockPath)
            }
        }
        return (count, bytes)
    }

    /// Parses sizes as `sifter cache prune --max-size` takes them: `500M`, `10G`, `1.5GiB`,
    /// `2048` (bytes). K/M/G/T are powers of 1024, as du and docker print them.
    public static func parseSize(_ text: String) throws(DistributionError) -> Int64 {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        var unit = trimmed.dropFirst(number.count).lowercased().trimmingCharacters(in: .whitespaces)
        if unit.hasSuffix("ib") { unit.removeLast(2) } else if unit.hasSuffix("b") { unit.removeLast() }
        let multipliers: [String: Double] = ["": 1, "k": 1024, "m": 1_048_576, "g": 1_073_741_824, "t": 1_099_511_627_776]
        guard let value = Double(number), value >= 0, let multiplier = multipliers[unit], value * multiplier < 9e18 else {
            throw .invalidOption("bad size \"\(text)\" (examples: 500M, 10G, 2048)")
        }
        return Int64(value * multiplier)
    }

    /// Parses durations as `sifter cache prune --older-than` takes them: `30s`, `90m`, `12h`,
    /// `7d`, `2w`, or combinations such as `1d12h`.
    public static func parseDuration(_ text: String) throws(DistributionError) -> TimeInterval {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604_800]
        var total = 0.0
        var number = ""
        var sawUnit = false
        for character in text.trimmingCharacters(in: .whitespaces).lowercased() {
            if character.isNumber || character == "." {
                number.append(character)
            } else if let unit = units[character], let value = Double(number) {
                total += value * unit
                number = ""
                sawUnit = true
            } else {
                throw .invalidOption("bad duration \"\(text)\" (examples: 12h, 7d, 2w, 1d12h)")
            }
        }
        guard number.isEmpty, sawUnit else { throw .invalidOption("bad duration \"\(text)\" (examples: 12h, 7d, 2w, 1d12h)") }
        return total
    }
}
