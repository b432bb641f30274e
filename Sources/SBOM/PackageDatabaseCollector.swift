#if canImport(Glibc)
import Glibc
#endif

/// Collects the package databases of a final tree while it streams past, file by file (the
/// shape of Rootfs' `ContentObserver`): dpkg's status and distroless `status.d/` files, apk's
/// installed database and Python's `*.dist-info/METADATA` are parsed as their bytes arrive,
/// one line at a time; rpm's rpmdb.sqlite is spooled to a private temporary file (SQLite
/// needs a file) and read by `finish()`, which removes it.
///
/// Paths are those of the final tree, where directories are real (a file reached through a
/// symlinked directory arrives under the directory the link leads to): so both places rpm's
/// database lives are watched, `/var/lib/rpm` and `/usr/lib/sysimage/rpm` (Fedora 36+ and
/// openSUSE, where `/var/lib/rpm` is a link to it); when both hold one, the
/// `/usr/lib/sysimage/rpm` one is read (rpm's dbpath there), with a warning.
/// Likewise apk's `/lib/apk/db` and `/usr/lib/apk/db`, `/etc/os-release` and
/// `/usr/lib/os-release` (the first that is a file).
///
/// Memory is bounded: one line (`Limits.lineLength`) and one stanza's few fields at a time, an
/// os-release file, and the package list itself, cut at `Limits.maxPackages`.
public final class PackageDatabaseCollector {
    public struct Limits: Sendable {
        /// Packages listed in all (a warning says when more were found).
        public var maxPackages = 100_000
        /// Bytes kept of one line of a text database.
        public var lineLength = 64 << 10
        /// Bytes read of an os-release file.
        public var osReleaseBytes = 64 << 10
        /// An rpm database larger than this is not spooled, with a warning.
        public var rpmDatabaseBytes: Int64 = 1 << 30
        /// An rpm header larger than this is skipped, with a warning.
        public var rpmHeaderBytes = 64 << 20

        public init() {}
    }

    enum Kind: Equatable {
        case dpkg, apk, python, rpmSQLite
        /// `rank` 0 (`/etc`) wins over 1 (`/usr/lib`).
        case osRelease(rank: Int)
    }

    public let limits: Limits
    /// Gives the directory rpm databases are spooled to, when the first one arrives.
    private let spoolDirectory: () throws -> String
    private var spoolPath: String?

    private var packages: [InstalledPackage] = []
    private var warnings: [String] = []
    private var osReleases: [Int: [UInt8]] = [:]
    private var spools: [(location: String, path: String)] = []
    private var otherRPMDatabases: Set<String> = []
    private var failure: SBOMError?
    private var reading: Reading?

    /// The file being received.
    private struct Reading {
        var kind: Kind
        var location: String
        var lines: LineSplitter
        var stanza: StanzaParser
        var bytes: [UInt8] = []
        var spool: (fd: Int32, path: String, written: Int64)?
        var done = false
    }

    /// `spoolDirectory` is asked for a private directory once, when an rpm database first
    /// needs spooling (most trees have none); what it throws is reported by `finish`.
    public init(limits: Limits = Limits(), spoolDirectory: @escaping () throws -> String) {
        self.limits = limits
        self.spoolDirectory = spoolDirectory
    }

    public convenience init(limits: Limits = Limits(), temporaryDirectory: String) {
        self.init(limits: limits) { temporaryDirectory }
    }

    deinit {
        if let spool = reading?.spool {
            close(spool.fd)
            unlink(spool.path)
        }
        for spool in spools { unlink(spool.path) }
    }

    // MARK: The stream

    public func wantsContent(of paths: [[UInt8]]) -> Bool {
        guard failure == nil else { return false }
        for path in paths {
            guard let kind = Self.classify(path) else { continue }
            if case .rpmSQLite = kind, spools.count >= 2 { continue }
            if case .osRelease(let rank) = kind, osReleases[rank] != nil { continue }
            return begin(kind, location: "/" + String(decoding: path, as: UTF8.self))
        }
        if paths.contains(where: Self.isOtherRPMDatabase) {
            let path = paths.first(where: Self.isOtherRPMDatabase) ?? []
            otherRPMDatabases.insert(String(decoding: path[..<(path.lastIndex(of: 0x2F) ?? 0)], as: UTF8.self))
        }
        return false
    }

    public func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard var current = reading, !current.done else { return false }
        reading = nil
        defer { reading = current }
        switch current.kind {
        case .dpkg, .apk, .python:
            var lines = current.lines
            lines.feed(bytes) { line in take(line, into: &current) }
            current.lines = lines
        case .osRelease:
            current.bytes += bytes.prefix(limits.osReleaseBytes - current.bytes.count)
            current.done = current.bytes.count >= limits.osReleaseBytes
        case .rpmSQLite:
            current.done = !spool(bytes, into: &current)
        }
        return !current.done
    }

    public func endOfContent() {
        guard var current = reading else { return }
        reading = nil
        switch current.kind {
        case .dpkg, .apk, .python:
            var lines = current.lines
            lines.finish { line in take(line, into: &current) }
            if !current.done, let fields = current.stanza.finish() { _ = add(current, fields) }
        case .osRelease(let rank):
            osReleases[rank] = current.bytes
        case .rpmSQLite:
            guard let spool = current.spool else { return }
            if close(spool.fd) != 0, failure == nil {
                failure = .spool(path: spool.path, operation: "close", reason: String(cString: strerror(errno)))
            }
            if current.done || failure != nil {
                unlink(spool.path)
            } else {
                spools.append((current.location, spool.path))
            }
        }
    }

    // MARK: After the stream

    /// Reads the spooled rpm databases (removing them) and returns what the tree lists. Throws
    /// only when a database could not be spooled (this machine's failure).
    public func finish() throws(SBOMError) -> Inventory {
        if let failure { throw failure }
        let chosen = spools.first { $0.location.hasPrefix("/usr/lib/sysimage/") } ?? spools.first
        if spools.count > 1, let chosen {
            warnings.append("rpm databases in both \(spools.map(\.location).sorted().joined(separator: " and ")): "
                + "only \(chosen.location) is listed (rpm's dbpath on current systems)")
        }
        if let (location, path) = chosen {
            warnings += RPMDatabase.read(path: path, location: location, headerLimit: limits.rpmHeaderBytes) { package in
                append(package)
            }
        }
        let sqliteDirectories = Set(spools.map { String($0.location.dropLast("/rpmdb.sqlite".count).dropFirst()) })
        for spool in spools { unlink(spool.path) }
        spools = []
        for directory in otherRPMDatabases.sorted() where !sqliteDirectories.contains(directory) {
            warnings.append("/\(directory): an rpm database in Berkeley DB or ndb format, which sifter does not read: "
                + "its packages are not listed")
        }
        let system = (osReleases[0] ?? osReleases[1]).map(OSRelease.parse) ?? OperatingSystem()
        return Inventory(packages: packages, operatingSystem: system, warnings: warnings)
    }

    // MARK: Helpers

    private func begin(_ kind: Kind, location: String) -> Bool {
        var current = Reading(
            kind: kind, location: location, lines: LineSplitter(lineLimit: limits.lineLength),
            stanza: StanzaParser(wanted: Self.fields(kind), caseInsensitive: kind != .apk))
        if kind == .rpmSQLite {
            if spoolPath == nil {
                do {
                    spoolPath = try spoolDirectory()
                } catch {
                    failure = .spool(path: location, operation: "make a spool directory", reason: "\(error)")
                    return false
                }
            }
            var template = Array(((spoolPath ?? "") + "/sifter-rpmdb-XXXXXX").utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard fd >= 0 else {
                failure = .spool(path: path, operation: "create", reason: String(cString: strerror(errno)))
                return false
            }
            current.spool = (fd, path, 0)
        }
        reading = current
        return true
    }

    private static let exactPaths: [[UInt8]: Kind] = [
        Array("var/lib/dpkg/status".utf8): .dpkg,
        Array("lib/apk/db/installed".utf8): .apk,
        Array("usr/lib/apk/db/installed".utf8): .apk,
        Array("var/lib/rpm/rpmdb.sqlite".utf8): .rpmSQLite,
        Array("usr/lib/sysimage/rpm/rpmdb.sqlite".utf8): .rpmSQLite,
        Array("etc/os-release".utf8): .osRelease(rank: 0),
        Array("usr/lib/os-release".utf8): .osRelease(rank: 1),
    ]
    private static let exactLengths = Set(exactPaths.keys.map(\.count))
    private static let dpkgStatusDirectory = Array("var/lib/dpkg/status.d/".utf8)
    private static let md5sums = Array(".md5sums".utf8)
    private static let distInfoMetadata = Array(".dist-info/METADATA".utf8)
    /// rpm's Berkeley DB (`Packages`) and ndb (`Packages.db`) databases, which are not read.
    private static let otherRPMPaths: Set<[UInt8]> = Set(
        ["var/lib/rpm/Packages", "var/lib/rpm/Packages.db", "usr/lib/sysimage/rpm/Packages",
         "usr/lib/sysimage/rpm/Packages.db"].map { Array($0.utf8) })

    /// Which database a path of the final tree is; cheap, as it is asked of every file.
    static func classify(_ path: [UInt8]) -> Kind? {
        if path.last == UInt8(ascii: "A"), path.count > distInfoMetadata.count, path.reversed().starts(with: distInfoMetadata.reversed()) {
            return .python
        }
        if exactLengths.contains(path.count), let kind = exactPaths[path] { return kind }
        if path.count > dpkgStatusDirectory.count, path.starts(with: dpkgStatusDirectory),
           !path[dpkgStatusDirectory.count...].contains(UInt8(ascii: "/")), !path.reversed().starts(with: md5sums.reversed()) {
            return .dpkg
        }
        return nil
    }

    static func isOtherRPMDatabase(_ path: [UInt8]) -> Bool {
        path.last == UInt8(ascii: "s") || path.last == UInt8(ascii: "b") ? otherRPMPaths.contains(path) : false
    }

    private static func fields(_ kind: Kind) -> Set<String> {
        switch kind {
        case .dpkg: DpkgRecord.fields
        case .apk: ApkRecord.fields
        case .python: PythonRecord.fields
        case .rpmSQLite, .osRelease: []
        }
    }

    /// One line of a text database: a stanza it ends becomes a package; a Python header ends
    /// at its first blank line.
    private func take(_ line: [UInt8], into current: inout Reading) {
        guard !current.done, let fields = current.stanza.take(line) else { return }
        current.done = !add(current, fields) || current.kind == .python
    }

    /// Adds the package a stanza describes; false once the package limit is reached.
    private func add(_ current: Reading, _ fields: [String: String]) -> Bool {
        let package: InstalledPackage? = switch current.kind {
        case .dpkg: DpkgRecord.package(fields, location: current.location)
        case .apk: ApkRecord.package(fields, location: current.location)
        case .python: PythonRecord.package(fields, location: current.location)
        case .rpmSQLite, .osRelease: nil
        }
        guard let package else { return true }
        return append(package)
    }

    private func append(_ package: InstalledPackage) -> Bool {
        guard packages.count < limits.maxPackages else {
            if !warnings.contains(where: { $0.hasPrefix("more than") }) {
                warnings.append("more than \(limits.maxPackages) packages: the SBOM lists the first \(limits.maxPackages) found")
            }
            return false
        }
        packages.append(package)
        return true
    }

    /// Writes bytes to the spool; false to stop (the limit, or a write that failed).
    private func spool(_ bytes: UnsafeRawBufferPointer, into current: inout Reading) -> Bool {
        guard var spool = current.spool else { return false }
        defer { current.spool = spool }
        guard spool.written + Int64(bytes.count) <= limits.rpmDatabaseBytes else {
            warnings.append("\(current.location): larger than \(limits.rpmDatabaseBytes) bytes: its packages are not listed")
            return false
        }
        var offset = 0
        while offset < bytes.count {
            let count = write(spool.fd, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                failure = .spool(path: spool.path, operation: "write", reason: String(cString: strerror(errno)))
                return false
            }
            offset += count
        }
        spool.written += Int64(bytes.count)
        return true
    }
}
