/// The document formats sifter writes.
public enum SBOMDocumentFormat: String, Sendable, CaseIterable {
    /// SPDX 2.3 JSON (the default).
    case spdx
    /// CycloneDX 1.5 JSON.
    case cyclonedx

    /// The SIF object's name.
    public var objectName: String {
        switch self {
        case .spdx: "sbom.spdx.json"
        case .cyclonedx: "sbom.cdx.json"
        }
    }

    public var title: String {
        switch self {
        case .spdx: "SPDX 2.3 JSON"
        case .cyclonedx: "CycloneDX 1.5 JSON"
        }
    }
}

/// What an SBOM describes: the source image, by name and digest.
public struct SBOMSubject: Sendable, Hashable {
    /// The source as the user wrote it (`docker://…`, `oci:DIR:TAG`).
    public var source: String
    /// The image's name (`registry/repository:tag`, or a layout's path and tag).
    public var reference: String
    /// `sha256:…` of the manifest.
    public var manifestDigest: String
    /// `registry/repository` for an image from a registry, which gives it a purl.
    public var repositoryURL: String?
    public var platform: String

    public init(source: String, reference: String, manifestDigest: String, repositoryURL: String?, platform: String) {
        self.source = source
        self.reference = reference
        self.manifestDigest = manifestDigest
        self.repositoryURL = repositoryURL
        self.platform = platform
    }

    /// `pkg:oci/NAME@sha256:…?repository_url=…`, for an image from a registry.
    var packageURL: PackageURL? {
        guard let repositoryURL, let name = repositoryURL.split(separator: "/").last else { return nil }
        return PackageURL(type: "oci", name: name.lowercased(), version: manifestDigest,
                          qualifiers: ["repository_url": repositoryURL])
    }

    var manifestHex: String {
        manifestDigest.hasPrefix("sha256:") ? String(manifestDigest.dropFirst(7)) : manifestDigest
    }
}

/// An SBOM document: the packages of an image's final tree in SPDX or CycloneDX JSON. Its
/// bytes depend only on its fields: packages in a fixed order, no time but `created`, and
/// identifiers derived from `documentID`.
public struct SBOMDocument: Sendable {
    public var format: SBOMDocumentFormat
    public var subject: SBOMSubject
    public var inventory: Inventory
    /// RFC 3339 UTC (`2024-06-01T00:00:00Z`): the build's time, never the clock's.
    public var created: String
    /// A UUID (`xxxxxxxx-xxxx-…`) derived from what the document describes: SPDX's namespace,
    /// CycloneDX's serial number.
    public var documentID: String
    public var toolVersion: String

    public init(format: SBOMDocumentFormat, subject: SBOMSubject, inventory: Inventory, created: String,
                documentID: String, toolVersion: String) {
        self.format = format
        self.subject = subject
        self.inventory = inventory
        self.created = created
        self.documentID = documentID
        self.toolVersion = toolVersion
    }

    public func encoded() -> [UInt8] {
        switch format {
        case .spdx: spdx().rendered()
        case .cyclonedx: cycloneDX().rendered()
        }
    }

    /// An identifier per package, unique in the document, made of SPDX's idstring characters:
    /// `deb-bash-5.2.15-2`.
    func packageIdentifiers() -> [String] {
        var taken = Set<String>()
        return inventory.packages.map { package in
            let base = Self.idstring("\(package.ecosystem.rawValue)-\(package.name)-\(package.displayVersion)")
            var candidate = base
            var number = 2
            while !taken.insert(candidate).inserted {
                candidate = "\(base)-\(number)"
                number += 1
            }
            return candidate
        }
    }

    static func idstring(_ text: String) -> String {
        String(text.map { character in
            switch character {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "-": character
            default: "-"
            }
        })
    }
}
