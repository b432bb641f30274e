import Foundation
import Testing
@testable import SBOM

/// dpkg's status, distroless status.d files, apk's installed database and Python METADATA
/// headers, fed in small pieces as pass 2 would feed them.
@Suite struct TextDatabaseTests {
    static let status = """
        Package: base-files
        Essential: yes
        Status: install ok installed
        Priority: required
        Architecture: amd64
        Version: 12.4+deb12u5
        Description: Debian base system miscellaneous files
         This package contains the basic filesystem hierarchy.
         .
         Package: not-a-field
        
        Package: libgcc-s1
        Status: install ok installed
        Architecture: amd64
        Multi-Arch: same
        Source: gcc-12 (12.2.0-14)
        Version: 12.2.0-14
        
        Package: removed-but-configured
        Status: deinstall ok config-files
        Architecture: all
        Version: 1.0
        
        Package: half
        Status: install reinstreq half-installed
        Architecture: amd64
        Version: 1:2.0~rc1-3
        """

    func collect(_ files: [(paths: [String], bytes: [UInt8])], chunk: Int = 7) throws -> Inventory {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let collector = PackageDatabaseCollector(temporaryDirectory: scratch.path)
        offer(files, to: collector, chunk: chunk)
        return try collector.finish()
    }

    @Test(arguments: [1, 7, 4096])
    func dpkgStatusInPieces(chunk: Int) throws {
        let inventory = try collect([text("var/lib/dpkg/status", Self.status)], chunk: chunk)
        #expect(inventory.packages.map(\.name) == ["base-files", "half", "libgcc-s1"])
        let gcc = try #require(inventory.packages.first { $0.name == "libgcc-s1" })
        #expect(gcc.version == "12.2.0-14")
        #expect(gcc.architecture == "amd64")
        #expect(gcc.upstream == "gcc-12")
        #expect(gcc.location == "/var/lib/dpkg/status")
        #expect(inventory.packages.first { $0.name == "half" }?.version == "1:2.0~rc1-3")
        #expect(inventory.packages.allSatisfy { $0.license == nil })
    }

    @Test func crlfAndNoFinalNewline() throws {
        let inventory = try collect([text("var/lib/dpkg/status", "Package: a\r\nVersion: 1\r\n\r\nPackage: b\r\nVersion: 2")])
        #expect(inventory.packages.map { "\($0.name) \($0.version)" } == ["a 1", "b 2"])
    }

    /// Distroless images have no status file: one file per package in status.d, beside its
    /// md5sums.
    @Test func distrolessStatusDirectory() throws {
        let inventory = try collect([
            text("var/lib/dpkg/status.d/libc6", "Package: libc6\nVersion: 2.36-9+deb12u7\nArchitecture: amd64\nSource: glibc\n"),
            text("var/lib/dpkg/status.d/libc6.md5sums", "Package: fake\nVersion: 1\n"),
            text("var/lib/dpkg/status.d/tzdata", "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n"),
            text("var/lib/dpkg/status.d/sub/x", "Package: nested\nVersion: 1\n"),
        ])
        #expect(inventory.packages.map(\.name) == ["libc6", "tzdata"])
        #expect(inventory.packages[0].location == "/var/lib/dpkg/status.d/libc6")
    }

    @Test func apkInstalled() throws {
        let installed = """
            C:Q1abc=
            P:musl
            V:1.2.5-r0
            A:x86_64
            S:383152
            L:MIT
            o:musl
            p:so:libc.musl-x86_64.so.1=1
            F:lib
            R:ld-musl-x86_64.so.1

            P:busybox
            V:1.36.1-r29
            A:x86_64
            L:GPL-2.0-only
            o:busybox
            
            P:ssl_client
            V:1.36.1-r29
            A:x86_64
            L:GPL-2.0-only
            o:busybox
            """
        let inventory = try collect([text("lib/apk/db/installed", installed)])
        #expect(inventory.packages.map { "\($0.name) \($0.version) \($0.architecture ?? "") \($0.license ?? "")" } == [
            "busybox 1.36.1-r29 x86_64 GPL-2.0-only", "musl 1.2.5-r0 x86_64 MIT", "ssl_client 1.36.1-r29 x86_64 GPL-2.0-only",
        ])
        #expect(inventory.packages.first { $0.name == "ssl_client" }?.upstream == "busybox")
        let purl = inventory.packages[0].packageURL(on: inventory.operatingSystem).description
        #expect(purl == "pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64")
    }

    @Test func pythonMetadataHeaderOnly() throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let collector = PackageDatabaseCollector(temporaryDirectory: scratch.path)
        let metadata = """
            Metadata-Version: 2.1
            Name: Typing_Extensions
            Version: 4.12.2
            License: Copyright (c) Someone
                    All rights reserved, in many lines.
            Classifier: License :: OSI Approved :: Python Software Foundation License

            Name: not-this
            \(String(repeating: "long description\n", count: 5000))
            """
        var received = 0
        #expect(collector.wantsContent(of: [Array("usr/lib/python3/dist-packages/typing_extensions-4.12.2.dist-info/METADATA".utf8)]))
        let bytes = Array(metadata.utf8)
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + 100, bytes.count)
            received += end - offset
            let more = bytes[offset..<end].withUnsafeBytes { collector.receive($0) }
            offset = end
            if !more { break }
        }
        collector.endOfContent()
        // The header ends at its first blank line: the description is never read.
        #expect(received < 400)
        offer([text("opt/venv/lib/python3.11/site-packages/Flask-3.0.0.dist-info/METADATA",
                    "Metadata-Version: 2.4\nName: Flask\nVersion: 3.0.0\nLicense: BSD\nLicense-Expression: BSD-3-Clause\n"),
               text("opt/x/METADATA", "Name: no-dist-info\nVersion: 1\n"),
               text("opt/y.dist-info/RECORD", "Name: not-metadata\nVersion: 1\n")], to: collector)
        let inventory = try collector.finish()
        #expect(inventory.packages.map { "\($0.name) \($0.version) \($0.license ?? "-")" } == [
            "Flask 3.0.0 BSD-3-Clause", "Typing_Extensions 4.12.2 -",
        ])
        #expect(inventory.packages.map { $0.packageURL(on: inventory.operatingSystem).description } == [
            "pkg:pypi/flask@3.0.0", "pkg:pypi/typing-extensions@4.12.2",
        ])
    }

    /// /etc/os-release names the distribution in the purls, before /usr/lib/os-release.
    @Test func osReleaseNamesTheDistribution() throws {
        let inventory = try collect([
            text("usr/lib/os-release", "ID=fallback\nVERSION_ID=1\n"),
            text("etc/os-release", "PRETTY_NAME=\"Ubuntu 24.04 LTS\"\nID=ubuntu\nVERSION_ID=\"24.04\"\n"),
            text("var/lib/dpkg/status", "Package: bash\nVersion: 5.2.21-2ubuntu4\nArchitecture: amd64\n"),
        ])
        #expect(inventory.operatingSystem == OperatingSystem(id: "ubuntu", versionID: "24.04"))
        #expect(inventory.packages[0].packageURL(on: inventory.operatingSystem).description
            == "pkg:deb/ubuntu/bash@5.2.21-2ubuntu4?arch=amd64&distro=ubuntu-24.04")
        let fallback = try collect([text("usr/lib/os-release", "ID='debian'\nVERSION_ID=\"12\"\n")])
        #expect(fallback.operatingSystem == OperatingSystem(id: "debian", versionID: "12"))
    }

    @Test func pathsAreClassifiedExactly() {
        let kinds: [(String, PackageDatabaseCollector.Kind?)] = [
            ("var/lib/dpkg/status", .dpkg), ("var/lib/dpkg/status-old", nil), ("var/lib/dpkg/status.d/x", .dpkg),
            ("var/lib/dpkg/status.d/x.md5sums", nil), ("srv/var/lib/dpkg/status", nil),
            ("lib/apk/db/installed", .apk), ("usr/lib/apk/db/installed", .apk),
            ("var/lib/rpm/rpmdb.sqlite", .rpmSQLite), ("usr/lib/sysimage/rpm/rpmdb.sqlite", .rpmSQLite),
            ("var/lib/rpm/rpmdb.sqlite-wal", nil), ("a/b.dist-info/METADATA", .python), ("a/b.egg-info/PKG-INFO", nil),
            ("etc/os-release", .osRelease(rank: 0)), ("usr/lib/os-release", .osRelease(rank: 1)), ("usr/bin/bash", nil),
        ]
        for (path, kind) in kinds {
            #expect(PackageDatabaseCollector.classify(Array(path.utf8)) == kind, "\(path)")
        }
    }

    /// A hard link is offered with all its names: one of them is enough.
    @Test func hardLinkNames() throws {
        let inventory = try collect([(["usr/share/status-copy", "var/lib/dpkg/status"], Array("Package: a\nVersion: 1\n".utf8))])
        #expect(inventory.packages.map(\.location) == ["/var/lib/dpkg/status"])
    }

    @Test func packageLimitCutsWithAWarning() throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        var limits = PackageDatabaseCollector.Limits()
        limits.maxPackages = 3
        limits.lineLength = 16
        let collector = PackageDatabaseCollector(limits: limits, temporaryDirectory: scratch.path)
        let stanzas = (1...10).map { "Package: p\($0)\nVersion: \(String(repeating: "9", count: 40))\n" }.joined(separator: "\n")
        offer([text("var/lib/dpkg/status", stanzas)], to: collector)
        let inventory = try collector.finish()
        #expect(inventory.packages.count == 3)
        // Lines are cut at the limit: memory stays bounded whatever a line holds.
        #expect(inventory.packages.allSatisfy { $0.version.count == 16 - "Version: ".count })
        #expect(inventory.warnings == ["more than 3 packages: the SBOM lists the first 3 found"])
    }
}
