/// Package URLs (purl), in the canonical form of the purl specification: type lower-case,
/// components percent-encoded (`:` kept, and `/` kept in qualifier values), qualifiers sorted
/// by key, empty ones left out.
public struct PackageURL: Sendable, Hashable, CustomStringConvertible {
    public var type: String
    public var namespace: [String]
    public var name: String
    public var version: String?
    public var qualifiers: [String: String]

    public init(type: String, namespace: [String] = [], name: String, version: String? = nil,
                qualifiers: [String: String] = [:]) {
        self.type = type
        self.namespace = namespace
        self.name = name
        self.version = version
        self.qualifiers = qualifiers
    }

    public var description: String {
        var text = "pkg:" + type.lowercased() + "/"
        for segment in namespace where !segment.isEmpty {
            text += Self.encode(segment, keeping: []) + "/"
        }
        text += Self.encode(name, keeping: [])
        if let version, !version.isEmpty { text += "@" + Self.encode(version, keeping: []) }
        let present = qualifiers.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }
        if !present.isEmpty {
            text += "?" + present.map { $0.key.lowercased() + "=" + Self.encode($0.value, keeping: [UInt8(ascii: "/")]) }
                .joined(separator: "&")
        }
        return text
    }

    /// Percent-encodes everything but the unreserved characters, `:` and `keeping`.
    static func encode(_ text: String, keeping: Set<UInt8>) -> String {
        let hex = Array("0123456789ABCDEF")
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"),
                 UInt8(ascii: "~"), UInt8(ascii: ":"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case _ where keeping.contains(byte):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0xF)])
            }
        }
        return out
    }
}

extension InstalledPackage {
    /// The package's purl: `pkg:deb/debian/bash@5.2.15-2?arch=amd64&distro=debian-12`,
    /// `pkg:rpm/fedora/bash@5.2-1.fc40?arch=x86_64&epoch=1`, `pkg:apk/alpine/…`, `pkg:pypi/…`.
    /// The distribution's namespace is the tree's os-release `ID` (`debian` and `alpine` when it
    /// has none; rpm then has no namespace), and `distro` is `ID-VERSION_ID`.
    public func packageURL(on system: OperatingSystem) -> PackageURL {
        var qualifiers: [String: String] = [:]
        if let architecture { qualifiers["arch"] = architecture }
        if let upstream, upstream != name { qualifiers["upstream"] = upstream }
        if let id = system.id, let versionID = system.versionID, ecosystem != .pypi {
            qualifiers["distro"] = "\(id)-\(versionID)"
        }
        // deb and apk names are case-insensitive: the purl spec has them in lower case.
        switch ecosystem {
        case .deb:
            return PackageURL(type: "deb", namespace: [(system.id ?? "debian").lowercased()], name: name.lowercased(),
                              version: version, qualifiers: qualifiers)
        case .apk:
            return PackageURL(type: "apk", namespace: [(system.id ?? "alpine").lowercased()], name: name.lowercased(),
                              version: version, qualifiers: qualifiers)
        case .rpm:
            if let epoch, !epoch.isEmpty { qualifiers["epoch"] = epoch }
            return PackageURL(type: "rpm", namespace: system.id.map { [$0] } ?? [], name: name, version: version,
                              qualifiers: qualifiers)
        case .pypi:
            // The purl spec's pypi rule: lower-case, `_` as `-`.
            let normalized = String(name.lowercased().map { $0 == "_" ? "-" : $0 })
            return PackageURL(type: "pypi", name: normalized, version: version, qualifiers: [:])
        }
    }
}
