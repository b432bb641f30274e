/// One package a package database of the final tree lists as installed.
public struct InstalledPackage: Sendable, Hashable {
    /// Which kind of database listed it; also the purl type.
    public enum Ecosystem: String, Sendable, Hashable, CaseIterable {
        case deb, rpm, apk, pypi

        /// The order packages are listed in: the distribution's first, then Python's.
        var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    }

    public var ecosystem: Ecosystem
    public var name: String
    /// The version as the package manager shows it: dpkg's with its epoch (`1:2.3-4`), rpm's
    /// `VERSION-RELEASE` (the epoch is `epoch`), apk's `1.2-r0`, the distribution's.
    public var version: String
    /// rpm's epoch, when the header has one.
    public var epoch: String?
    public var architecture: String?
    /// The license as the database states it (dpkg's has none).
    public var license: String?
    /// The package built from the same source (dpkg's `Source`, rpm's source rpm, apk's
    /// origin), when it differs from the name.
    public var upstream: String?
    /// Where the record was found, absolute in the image (`/var/lib/dpkg/status`).
    public var location: String

    public init(ecosystem: Ecosystem, name: String, version: String, epoch: String? = nil, architecture: String? = nil,
                license: String? = nil, upstream: String? = nil, location: String) {
        self.ecosystem = ecosystem
        self.name = name
        self.version = version
        self.epoch = epoch
        self.architecture = architecture
        self.license = license
        self.upstream = upstream
        self.location = location
    }

    /// The version as people read it: rpm's with its epoch (`2:1.0-3.fc40`), others as stored.
    public var displayVersion: String {
        guard let epoch, !epoch.isEmpty, epoch != "0" else { return version }
        return "\(epoch):\(version)"
    }

    /// Deterministic listing order, independent of the order the databases were read in:
    /// ecosystem, then name, version, architecture, location, license and upstream byte-wise.
    static func precedes(_ a: InstalledPackage, _ b: InstalledPackage) -> Bool {
        if a.ecosystem != b.ecosystem { return a.ecosystem.rank < b.ecosystem.rank }
        let keys = { (p: InstalledPackage) in
            [p.name, p.displayVersion, p.architecture ?? "", p.location, p.license ?? "", p.upstream ?? ""]
        }
        for (x, y) in zip(keys(a), keys(b)) where x != y {
            return x.utf8.lexicographicallyPrecedes(y.utf8)
        }
        return false
    }
}

/// The operating system the tree says it is (`/etc/os-release`), for purl namespaces.
public struct OperatingSystem: Sendable, Hashable {
    /// `ID` (`debian`, `alpine`, `fedora`).
    public var id: String?
    /// `VERSION_ID` (`12`, `3.20.1`, `40`).
    public var versionID: String?

    public init(id: String? = nil, versionID: String? = nil) {
        self.id = id
        self.versionID = versionID
    }
}

/// What the package databases of a tree list: the packages, sorted, and what could not be read.
public struct Inventory: Sendable, Hashable {
    public var packages: [InstalledPackage]
    public var operatingSystem: OperatingSystem
    /// Databases (or records) that could not be read, or were cut at a limit.
    public var warnings: [String]

    public init(packages: [InstalledPackage], operatingSystem: OperatingSystem = OperatingSystem(), warnings: [String] = []) {
        self.packages = packages.sorted(by: InstalledPackage.precedes)
        self.operatingSystem = operatingSystem
        self.warnings = warnings
    }
}
