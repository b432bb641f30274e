import Foundation
import Testing
@testable import SBOM

@Suite struct LicenseTests {
    @Test(arguments: [
        ("MIT", "MIT"),
        ("mit", "MIT"),
        ("GPL-2.0+", "GPL-2.0+"),
        ("gpl-2.0-or-later with classpath-exception-2.0", "GPL-2.0-or-later WITH Classpath-exception-2.0"),
        ("MIT AND (Apache-2.0 OR GPL-2.0-or-later)", "MIT AND (Apache-2.0 OR GPL-2.0-or-later)"),
        ("(MIT)", "(MIT)"),
        ("  BSD-3-Clause   or\tMIT ", "BSD-3-Clause OR MIT"),
    ])
    func expressions(_ example: (String, String)) {
        #expect(SPDXLicense.normalized(example.0) == example.1)
    }

    @Test(arguments: ["GPLv2+", "GPLv2+ and LGPLv2+", "MIT License", "custom", "MIT AND", "(MIT", "MIT)", "MIT WITH MIT",
                      "LicenseRef-foo", "MIT/X11", "", "AND", String(repeating: "(", count: 100) + "MIT" + String(repeating: ")", count: 100)])
    func notExpressions(_ text: String) {
        #expect(SPDXLicense.normalized(text) == nil)
    }

    @Test func referencesAreUniqueIdstrings() {
        var taken = Set<String>()
        #expect(SPDXLicense.reference(for: "GPLv2+ and BSD", taken: &taken) == "LicenseRef-GPLv2-and-BSD")
        #expect(SPDXLicense.reference(for: "GPLv2+ and BSD!", taken: &taken) == "LicenseRef-GPLv2-and-BSD-2")
        #expect(SPDXLicense.reference(for: "☃", taken: &taken) == "LicenseRef-unnamed")
    }
}

@Suite struct PackageURLTests {
    /// Canonical forms as packageurl-python writes them (checked again on every document by
    /// integration/validate-sbom.py).
    @Test func canonicalForms() {
        let system = OperatingSystem(id: "debian", versionID: "12")
        let deb = InstalledPackage(ecosystem: .deb, name: "libc6", version: "1:2.36-9+deb12u4~x", architecture: "amd64",
                                   upstream: "glibc", location: "/var/lib/dpkg/status")
        #expect(deb.packageURL(on: system).description
            == "pkg:deb/debian/libc6@1:2.36-9%2Bdeb12u4~x?arch=amd64&distro=debian-12&upstream=glibc")
        #expect(PackageURL(type: "oci", name: "minbase", version: "sha256:abc",
                           qualifiers: ["repository_url": "127.0.0.1:5000/debian/minbase", "empty": ""]).description
            == "pkg:oci/minbase@sha256:abc?repository_url=127.0.0.1:5000/debian/minbase")
        let rpm = InstalledPackage(ecosystem: .rpm, name: "a+b", version: "1.0^git", epoch: "2", location: "x")
        #expect(rpm.packageURL(on: OperatingSystem()).description == "pkg:rpm/a%2Bb@1.0%5Egit?epoch=2")
        let unnamed = InstalledPackage(ecosystem: .deb, name: "x", version: "1", location: "x")
        #expect(unnamed.packageURL(on: OperatingSystem()).description == "pkg:deb/debian/x@1")
    }
}

@Suite struct DocumentTests {
    static let subject = SBOMSubject(
        source: "docker://127.0.0.1:5000/test/image:1", reference: "127.0.0.1:5000/test/image:1",
        manifestDigest: "sha256:" + String(repeating: "ab", count: 32), repositoryURL: "127.0.0.1:5000/test/image",
        platform: "linux/amd64")

    static let inventory = Inventory(packages: [
        InstalledPackage(ecosystem: .pypi, name: "Flask", version: "3.0.0", license: "BSD-3-Clause",
                         location: "/usr/lib/python3/dist-packages/flask-3.0.0.dist-info/METADATA"),
        InstalledPackage(ecosystem: .rpm, name: "bash", version: "5.2.26-3.fc40", epoch: "1", architecture: "x86_64",
                         license: "GPLv3+", upstream: "bash-5.2.26-3.fc40.src.rpm", location: "/usr/lib/sysimage/rpm/rpmdb.sqlite"),
        InstalledPackage(ecosystem: .deb, name: "bash", version: "5.2.15-2+b7", architecture: "amd64", upstream: "bash",
                         location: "/var/lib/dpkg/status"),
        InstalledPackage(ecosystem: .apk, name: "musl", version: "1.2.5-r0", architecture: "x86_64", license: "MIT",
                         upstream: "musl", location: "/lib/apk/db/installed"),
        InstalledPackage(ecosystem: .apk, name: "odd\u{1b}name\"", version: "1", architecture: "x86_64", license: "GPLv3+",
                         location: "/lib/apk/db/installed"),
        InstalledPackage(ecosystem: .deb, name: "bash", version: "5.2.15-2+b7", architecture: "amd64",
                         location: "/var/lib/dpkg/status.d/bash"),
    ], operatingSystem: OperatingSystem(id: "debian", versionID: "12"))

    func document(_ format: SBOMDocumentFormat, inventory: Inventory = inventory) -> SBOMDocument {
        SBOMDocument(format: format, subject: Self.subject, inventory: inventory, created: "2024-06-01T00:00:00Z",
                     documentID: "5f0c8a2e-1b3d-5e4f-8a6b-7c8d9e0f1a2b", toolVersion: "0.1.0")
    }

    func json(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func spdxDocument() throws {
        let bytes = document(.spdx).encoded()
        #expect(bytes == document(.spdx).encoded(), "the same input gives the same bytes")
        let root = try json(bytes)
        #expect(root["spdxVersion"] as? String == "SPDX-2.3")
        #expect(root["name"] as? String == "docker://127.0.0.1:5000/test/image:1")
        #expect(root["documentNamespace"] as? String
            == "https://sifter.invalid/spdx/127.0.0.1-5000-test-image-1-5f0c8a2e-1b3d-5e4f-8a6b-7c8d9e0f1a2b")
        #expect((root["creationInfo"] as? [String: Any])?["created"] as? String == "2024-06-01T00:00:00Z")
        let packages = try #require(root["packages"] as? [[String: Any]])
        #expect(packages.count == 7)
        #expect(packages[0]["SPDXID"] as? String == "SPDXRef-Image")
        #expect(packages[0]["versionInfo"] as? String == Self.subject.manifestDigest)
        // The distribution's packages first (deb, rpm, apk), then Python's; duplicates stay apart.
        #expect(packages.dropFirst().map { $0["SPDXID"] as? String } == [
            "SPDXRef-Package-deb-bash-5.2.15-2-b7", "SPDXRef-Package-deb-bash-5.2.15-2-b7-2",
            "SPDXRef-Package-rpm-bash-1-5.2.26-3.fc40", "SPDXRef-Package-apk-musl-1.2.5-r0",
            "SPDXRef-Package-apk-odd-name--1", "SPDXRef-Package-pypi-Flask-3.0.0",
        ])
        let rpm = packages[3]
        #expect(rpm["versionInfo"] as? String == "1:5.2.26-3.fc40")
        #expect(rpm["licenseDeclared"] as? String == "LicenseRef-GPLv3")
        #expect(packages[4]["licenseDeclared"] as? String == "MIT")
        #expect(packages[5]["licenseDeclared"] as? String == "LicenseRef-GPLv3", "one reference per license text")
        #expect(packages[1]["licenseDeclared"] as? String == "NOASSERTION")
        let extracted = try #require(root["hasExtractedLicensingInfos"] as? [[String: Any]])
        #expect(extracted.count == 1)
        #expect(extracted[0]["extractedText"] as? String == "GPLv3+")
        let relationships = try #require(root["relationships"] as? [[String: Any]])
        #expect(relationships.count == 7)
        // Text from an image never reaches a reader raw.
        #expect(!bytes.contains(0x1B))
        try validate(bytes, name: "doc.spdx.json")
    }

    @Test func cycloneDXDocument() throws {
        let bytes = document(.cyclonedx).encoded()
        #expect(bytes == document(.cyclonedx).encoded())
        let root = try json(bytes)
        #expect(root["specVersion"] as? String == "1.5")
        #expect(root["serialNumber"] as? String == "urn:uuid:5f0c8a2e-1b3d-5e4f-8a6b-7c8d9e0f1a2b")
        let metadata = try #require(root["metadata"] as? [String: Any])
        let image = try #require(metadata["component"] as? [String: Any])
        #expect(image["purl"] as? String == "pkg:oci/image@sha256:\(String(repeating: "ab", count: 32))?repository_url=127.0.0.1:5000/test/image")
        let components = try #require(root["components"] as? [[String: Any]])
        #expect(components.count == 6)
        #expect(components.map { $0["purl"] as? String }.contains("pkg:rpm/debian/bash@5.2.26-3.fc40?arch=x86_64&distro=debian-12&epoch=1&upstream=bash-5.2.26-3.fc40.src.rpm"))
        let musl = try #require(components.first { $0["name"] as? String == "musl" })
        #expect((musl["licenses"] as? [[String: Any]])?.first?["expression"] as? String == "MIT")
        let dependencies = try #require(root["dependencies"] as? [[String: Any]])
        #expect((dependencies.first?["dependsOn"] as? [String])?.count == 6)
        try validate(bytes, name: "doc.cdx.json")
    }

    @Test(arguments: SBOMDocumentFormat.allCases) func emptyInventory(_ format: SBOMDocumentFormat) throws {
        let local = SBOMSubject(source: "oci:/tmp/layout:x", reference: "/tmp/layout:x", manifestDigest: Self.subject.manifestDigest,
                                repositoryURL: nil, platform: "linux/arm64")
        let bytes = SBOMDocument(format: format, subject: local, inventory: Inventory(packages: []), created: "1970-01-01T00:00:00Z",
                                 documentID: "00000000-0000-5000-8000-000000000000", toolVersion: "0.1.0").encoded()
        try validate(bytes, name: "empty-\(format.rawValue).json")
    }

    /// The embedded license list and the oracle agree: every expression sifter accepts from
    /// the list (each identifier, with `+`, in a compound, each exception) validates, in both
    /// formats.
    @Test(.enabled(if: Validators.available), arguments: SBOMDocumentFormat.allCases)
    func everyListedIdentifierValidates(_ format: SBOMDocumentFormat) throws {
        var texts = SPDXLicenseList.licenses.flatMap { [$0, $0 + "+", "(\($0) OR MIT) AND Apache-2.0"] }
        texts += SPDXLicenseList.exceptions.map { "GPL-2.0-or-later WITH \($0)" }
        let accepted = texts.filter { SPDXLicense.normalized($0) != nil }
        #expect(accepted.count > 2 * SPDXLicenseList.licenses.count)
        let packages = accepted.enumerated().map { index, license in
            InstalledPackage(ecosystem: .apk, name: "p\(index)", version: "1", license: license, location: "/lib/apk/db/installed")
        }
        let bytes = document(format, inventory: Inventory(packages: packages)).encoded()
        #expect(!String(decoding: bytes, as: UTF8.self).contains("LicenseRef-"))
        try validate(bytes, name: "licenses-\(format.rawValue).json")
    }

    /// With the PyPI validators installed (integration/install-deps.sh), every document the
    /// tests write is checked by them.
    func validate(_ bytes: [UInt8], name: String) throws {
        guard Validators.available else { return }
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let path = scratch.file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try Validators.validate(path)
    }
}
