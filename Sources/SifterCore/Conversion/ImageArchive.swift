import ArchiveIO
import Foundation
import SIF
import Synchronization

/// An image archive (`docker save`, `skopeo copy … oci-archive:`, compressed or not) read where
/// it lies. Its members are listed in one pass, documents are read from the archive with their
/// size checked first, and only the layers the chosen image uses are copied out, each checked
/// against the size it must have while it is copied, into a private scratch directory removed
/// with the archive (or by a later run, if this one is killed). Nothing else is unpacked: an
/// archive may hold anything, of any size.
///
/// The flattener reads layers from a path (`LayerInput.path`), so referenced layers are still
/// copied once; reading them in place would need a file-slice input there.
final class ImageArchive: Sendable {
    let path: String
    let sourceText: String
    private let members: [String: Member]
    /// Small members kept from the listing pass (documents are small), so that a compressed
    /// archive is not decompressed again for each of them.
    private let kept: [String: [UInt8]]
    private let scratch = Mutex<ScratchDirectory?>(nil)

    struct Member: Sendable {
        var size: Int64
        /// For a symlink or hard link: the member it names.
        var target: String?
    }

    static let keptMemberLimit: Int64 = 1 << 20
    static let keptTotalLimit: Int64 = 16 << 20

    init(path: String, sourceText: String) throws {
        self.path = path
        self.sourceText = sourceText
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw BuildError.invalidSource(sourceText, reason: "\(path) not found")
        }
        if let kind = FileKind.notRegular(info.st_mode) {
            throw BuildError.invalidSource(sourceText, reason: "\(path) is not a regular file (it is \(kind))")
        }
        var members: [String: Member] = [:]
        var kept: [String: [UInt8]] = [:]
        var keptTotal: Int64 = 0
        let reader = try ArchiveReader(path: path)
        defer { try? reader.close() }
        while let entry = try reader.nextEntry() {
            guard let raw = entry.pathname, let name = try Self.normalize(raw, source: sourceText) else { continue }
            let member: Member
            // Links to other members (`docker save` links a repeated layer to its first copy)
            // are followed on lookup; one that leaves the archive is no member.
            if let hardlink = entry.hardlink {
                guard let target = Self.resolve(hardlink, in: "") else { continue }
                member = Member(size: 0, target: target)
            } else {
                switch entry.fileType {
                case .regular:
                    // A format without sizes in its headers (a streamed zip) gives -1: such a
                    // member cannot be checked, and is refused if it is ever needed.
                    member = Member(size: entry.isSizeSet ? entry.size : -1)
                case .symlink:
                    guard let link = entry.symlink, !link.hasPrefix("/"),
                          let target = Self.resolve(link, in: Self.parent(of: name)) else { continue }
                    member = Member(size: 0, target: target)
                default:
                    continue
                }
            }
            guard members[name] == nil else {
                throw BuildError.invalidSource(sourceText, reason: "archive member \"\(name)\" appears twice")
            }
            members[name] = member
            if member.target == nil, member.size >= 0, member.size <= Self.keptMemberLimit,
               keptTotal + member.size <= Self.keptTotalLimit {
                kept[name] = try Self.readData(reader, size: member.size, name: name, source: sourceText)
                keptTotal += member.size
            }
        }
        self.members = members
        self.kept = kept
    }

    deinit {
        scratch.withLock { $0?.remove() }
    }

    /// The member `name` (links followed, at most 8), or nil. Its size is -1 when the archive
    /// does not record it.
    func member(_ name: String) -> (name: String, size: Int64)? {
        var current = name
        for _ in 0..<8 {
            guard let member = members[current] else { return nil }
            guard let target = member.target else { return (current, member.size) }
            current = target
        }
        return nil
    }

    /// A member's bytes: exactly `expected` bytes when given, at most `limit`; the size is
    /// checked before reading (a size problem is thrown as a `LocalFile.Problem`). Nil when the
    /// archive has no such member.
    func read(_ name: String, limit: Int64, expected: Int64? = nil) throws -> [UInt8]? {
        guard let (found, size) = member(name) else { return nil }
        guard size >= 0 else { throw BuildError.invalidSource(sourceText, reason: "archive member \"\(found)\" has no size in its header") }
        if let expected, size != expected { throw LocalFile.Problem.sizeMismatch(size: size, expected: expected) }
        guard size <= limit else { throw LocalFile.Problem.tooLarge(size: size, limit: limit) }
        if let bytes = kept[found] { return bytes }
        let reader = try ArchiveReader(path: path)
        defer { try? reader.close() }
        while let entry = try reader.nextEntry() {
            guard let raw = entry.pathname, try Self.normalize(raw, source: sourceText) == found else { continue }
            return try Self.readData(reader, size: size, name: found, source: sourceText)
        }
        throw BuildError.invalidSource(sourceText, reason: "archive member \"\(found)\" could not be read again")
    }

    /// Copies the members `wanted` (name and the size each must have) out of the archive in one
    /// pass, into the scratch directory; returns their paths by name. Sizes are checked before
    /// the pass and while copying.
    func extract(_ wanted: [(name: String, size: Int64)]) throws -> [String: String] {
        var targets: [String: (names: [String], size: Int64)] = [:]
        for item in wanted {
            guard let (found, size) = member(item.name) else {
                throw BuildError.invalidSource(sourceText, reason: "the archive lacks \"\(item.name)\"")
            }
            guard size >= 0 else {
                throw BuildError.invalidSource(sourceText, reason: "archive member \"\(found)\" has no size in its header")
            }
            guard size == item.size else {
                throw BuildError.invalidSource(sourceText, reason: "archive member \"\(item.name)\": size is \(size) bytes, the descriptor says \(item.size)")
            }
            targets[found, default: ([], size)].names.append(item.name)
        }
        return try scratch.withLock { existing -> [String: String] in
            let directory = try existing ?? ScratchDirectory.create(source: sourceText)
            existing = directory
            var missing = Set(targets.keys.filter { directory.extracted[$0] == nil })
            // Small layers were kept from the listing pass: written out without another pass.
            for name in missing {
                guard let bytes = kept[name] else { continue }
                let file = directory.path + "/\(directory.extracted.count).blob"
                try Self.write(bytes, to: file, name: name, source: sourceText)
                directory.extracted[name] = file
                missing.remove(name)
            }
            if !missing.isEmpty {
                let reader = try ArchiveReader(path: path)
                defer { try? reader.close() }
                while !missing.isEmpty, let entry = try reader.nextEntry() {
                    guard let raw = entry.pathname, let name = try Self.normalize(raw, source: sourceText),
                          missing.contains(name), let size = targets[name]?.size else { continue }
                    let file = directory.path + "/\(directory.extracted.count).blob"
                    try Self.copyData(reader, size: size, name: name, to: file, source: sourceText)
                    directory.extracted[name] = file
                    missing.remove(name)
                }
            }
            var paths: [String: String] = [:]
            for (found, item) in targets {
                guard let file = directory.extracted[found] else {
                    throw BuildError.invalidSource(sourceText, reason: "archive member \"\(found)\" could not be read again")
                }
                for name in item.names { paths[name] = file }
            }
            return paths
        }
    }

    /// The current member's data, which must be `size` bytes (at most size + 1 are read).
    private static func readData(_ reader: ArchiveReader, size: Int64, name: String, source: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(size) + 1)
        var done = 0
        while done < bytes.count {
            let n = try bytes.withUnsafeMutableBytes { try reader.readData(into: UnsafeMutableRawBufferPointer(rebasing: $0[done...])) }
            if n == 0 { break }
            done += n
        }
        guard done == Int(size) else {
            throw BuildError.invalidSource(source, reason: "archive member \"\(name)\" holds \(done > Int(size) ? "more" : "fewer") bytes than its header's \(size)")
        }
        bytes.removeLast()
        return bytes
    }

    private static func write(_ bytes: [UInt8], to file: String, name: String, source: String) throws {
        guard FileManager.default.createFile(atPath: file, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
            throw BuildError.invalidSource(source, reason: "cannot copy out \"\(name)\": cannot write \(file)")
        }
    }

    /// Streams the current member into a new file, never past `size` bytes (holes of a sparse
    /// member stay holes).
    private static func copyData(_ reader: ArchiveReader, size: Int64, name: String, to file: String, source: String) throws {
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw BuildError.invalidSource(source, reason: "cannot copy out \"\(name)\": \(file): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        try reader.readDataBlocks { block, offset in
            guard offset >= 0, offset + Int64(block.count) <= size else {
                throw BuildError.invalidSource(source, reason: "archive member \"\(name)\" holds more than its header's \(size) bytes")
            }
            var written = 0
            while written < block.count {
                let n = pwrite(fd, block.baseAddress! + written, block.count - written, off_t(offset) + off_t(written))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    throw BuildError.invalidSource(source, reason: "cannot copy out \"\(name)\": \(file): \(String(cString: strerror(errno)))")
                }
                written += n
            }
        }
        guard ftruncate(fd, off_t(size)) == 0 else {
            throw BuildError.invalidSource(source, reason: "cannot copy out \"\(name)\": \(file): \(String(cString: strerror(errno)))")
        }
    }

    /// `name` without `./` and empty components; nil for the archive's root. Anything absolute
    /// or with `..` is refused: an image archive has no reason for it.
    static func normalize(_ name: String, source: String) throws -> String? {
        let parts = name.split(separator: "/").filter { $0 != "." }
        guard !name.hasPrefix("/"), !parts.contains("..") else {
            throw BuildError.invalidSource(source, reason: "archive member \"\(name)\" is not a plain relative path")
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }

    private static func parent(of name: String) -> String {
        name.lastIndex(of: "/").map { String(name[..<$0]) } ?? ""
    }

    /// `path` taken relative to the member directory `directory`, `..` resolved; nil when it
    /// leaves the archive.
    static func resolve(_ path: String, in directory: String) -> String? {
        var parts = directory.split(separator: "/").map(String.init)
        for part in path.split(separator: "/") {
            switch part {
            case ".": continue
            case "..":
                guard !parts.isEmpty else { return nil }
                parts.removeLast()
            default: parts.append(String(part))
            }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }
}

/// A private directory in `$TMPDIR`: `sifter-archive-XXXXXXXX` for the layers copied out of an
/// archive, `sifter-sbom-XXXXXXXX` for a spooled rpm database. A lock file beside it is held
/// while this run lives, so that a later run can remove it if this one is killed.
final class ScratchDirectory {
    let path: String
    private let lock: LivenessLock
    var extracted: [String: String] = [:]

    private init(path: String, lock: LivenessLock) {
        self.path = path
        self.lock = lock
    }

    static func create(source: String, kind: String = "archive") throws -> ScratchDirectory {
        let base = NSTemporaryDirectory().hasSuffix("/") ? String(NSTemporaryDirectory().dropLast()) : NSTemporaryDirectory()
        removeStale(in: base, kind: kind)
        for _ in 0..<16 {
            let name = "sifter-\(kind)-" + UUID().uuidString.prefix(8).lowercased()
            guard let lock = try LivenessLock.create(at: base + "/." + name + ".lock") else { continue }
            let path = base + "/" + name
            guard mkdir(path, 0o700) == 0 else {
                let reason = String(cString: strerror(errno))
                lock.release()
                throw BuildError.invalidSource(source, reason: "cannot create a scratch directory \(path): \(reason)")
            }
            AtomicOutput.trackScratchDirectory(path, lock: lock.path)
            return ScratchDirectory(path: path, lock: lock)
        }
        throw BuildError.invalidSource(source, reason: "cannot create a scratch directory in \(base): every name tried was taken")
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
        AtomicOutput.untrackScratchDirectory(path, lock: lock.path)
        lock.release()
    }

    /// Removes the scratch directories of runs that are gone.
    static func removeStale(in base: String, kind: String = "archive") {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: base) else { return }
        for name in names where name.hasPrefix(".sifter-\(kind)-") && name.hasSuffix(".lock") {
            let directory = base + "/" + name.dropFirst().dropLast(".lock".count)
            LivenessLock.removeIfDead(base + "/" + name, belongings: [directory])
        }
    }
}
