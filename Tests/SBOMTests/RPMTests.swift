import Foundation
import Testing
@testable import SBOM

/// An rpm header blob as rpmdb.sqlite stores it, made by hand: `entries` of (tag, type, data).
func rpmHeaderBlob(_ entries: [(tag: Int32, type: UInt32, data: [UInt8])]) -> [UInt8] {
    func word(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
    var index: [UInt8] = []
    var data: [UInt8] = []
    for entry in entries {
        if entry.type == 4 { while data.count % 4 != 0 { data.append(0) } }
        index += word(UInt32(bitPattern: entry.tag)) + word(entry.type) + word(UInt32(data.count)) + word(1)
        data += entry.data
    }
    return word(UInt32(entries.count)) + word(UInt32(data.count)) + index + data
}

func rpmString(_ tag: Int32, _ text: String) -> (tag: Int32, type: UInt32, data: [UInt8]) {
    (tag, 6, Array(text.utf8) + [0])
}

@Suite struct RPMTests {
    @Test func headerTagsAndLaterEntriesWin() throws {
        let blob = rpmHeaderBlob([
            rpmString(1000, "bash"), rpmString(1001, "5.2.26"), rpmString(1002, "3.fc40"),
            (1003, 4, [0, 0, 0, 1]), rpmString(1022, "x86_64"), (1014, 9, Array("GPL-3.0-or-later\0".utf8)),
            rpmString(1044, "bash-5.2.26-3.fc40.src.rpm"), rpmString(1022, "aarch64"),
        ])
        let package = try #require(try RPMHeader(blob: blob).package(location: "/var/lib/rpm/rpmdb.sqlite"))
        #expect(package.name == "bash")
        #expect(package.version == "5.2.26-3.fc40")
        #expect(package.epoch == "1")
        #expect(package.displayVersion == "1:5.2.26-3.fc40")
        #expect(package.architecture == "aarch64")
        #expect(package.license == "GPL-3.0-or-later")
        #expect(package.packageURL(on: OperatingSystem(id: "fedora", versionID: "40")).description
            == "pkg:rpm/fedora/bash@5.2.26-3.fc40?arch=aarch64&distro=fedora-40&epoch=1&upstream=bash-5.2.26-3.fc40.src.rpm")
    }

    @Test func publicKeysAreNoPackages() throws {
        let blob = rpmHeaderBlob([rpmString(1000, "gpg-pubkey"), rpmString(1001, "a15b79cc"), rpmString(1002, "63d04c2c")])
        #expect(try RPMHeader(blob: blob).package(location: "x") == nil)
    }

    @Test(arguments: [
        ("short", [UInt8](repeating: 0, count: 5)),
        ("no entries", [0, 0, 0, 0, 0, 0, 0, 0]),
        ("index past the end", [0, 0, 0, 9, 0, 0, 0, 0]),
        ("data past the end", [0, 0, 0, 1, 0, 0x10, 0, 0] + [UInt8](repeating: 0, count: 16)),
    ])
    func malformedHeaders(_ example: (String, [UInt8])) {
        #expect(throws: RPMHeader.Malformed.self, "\(example.0)") { try RPMHeader(blob: example.1) }
    }

    @Test func malformedEntries() {
        var outside = rpmHeaderBlob([rpmString(1000, "x")])
        outside[8 + 8 + 3] = 50  // the name's offset, past the data
        #expect(throws: RPMHeader.Malformed.self) { try RPMHeader(blob: outside) }
        var unterminated = rpmHeaderBlob([rpmString(1000, "x")])
        unterminated.removeLast()
        unterminated[7] -= 1
        #expect(throws: RPMHeader.Malformed.self) { try RPMHeader(blob: unterminated) }
        let wrongType = rpmHeaderBlob([(1003, 6, Array("1\0".utf8))])
        #expect(throws: RPMHeader.Malformed.self) { try RPMHeader(blob: wrongType) }
    }

    static let rpmbuild = FileManager.default.isExecutableFile(atPath: "/usr/bin/rpmbuild")

    /// The oracle: a real rpmdb.sqlite that Debian's rpm writes (`rpmbuild`, then
    /// `rpm --justdb -i`), read by sifter as it streams past and listed as `rpm -qa` lists it.
    @Test(.enabled(if: rpmbuild)) func realDatabaseEqualsRPMQueryAll() throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let specs: [(name: String, version: String, release: String, epoch: String?, license: String)] = [
            ("tiny-hello", "1.2.3", "4.fc40", "2", "MIT AND (Apache-2.0 OR GPL-2.0-or-later)"),
            ("old-style", "0.9", "1", nil, "GPLv2+ and BSD"),
            ("noarch-data", "2024.1", "7", nil, "CC0-1.0"),
        ]
        let database = scratch.file("root/usr/lib/sysimage/rpm")
        try FileManager.default.createDirectory(atPath: database, withIntermediateDirectories: true)
        #expect(try run("/usr/bin/rpm", ["--dbpath", database, "--initdb"]).status == 0)
        for spec in specs {
            let arch = spec.name == "noarch-data" ? "noarch" : "x86_64"
            let text = """
                Name: \(spec.name)
                Version: \(spec.version)
                Release: \(spec.release)
                \(spec.epoch.map { "Epoch: \($0)" } ?? "")
                Summary: test
                License: \(spec.license)
                BuildArch: \(arch)
                %description
                test
                %files
                """
            try text.write(toFile: scratch.file("\(spec.name).spec"), atomically: true, encoding: .utf8)
            let build = try run("/usr/bin/rpmbuild", ["--define", "_topdir \(scratch.file("top"))", "-bb", scratch.file("\(spec.name).spec")])
            #expect(build.status == 0, "\(build.output)")
            let rpm = scratch.file("top/RPMS/\(arch)/\(spec.name)-\(spec.version)-\(spec.release).\(arch).rpm")
            let install = try run("/usr/bin/rpm", ["--dbpath", database, "--justdb", "--nodeps", "--ignorearch", "-i", rpm])
            #expect(install.status == 0, "\(install.output)")
        }
        let query = try run("/usr/bin/rpm", ["-qa", "--dbpath", database, "--qf", "%{NAME} %{EPOCH}:%{VERSION}-%{RELEASE} %{ARCH} %{LICENSE}\\n"])
        let expected = query.output.split(separator: "\n").map { $0.replacingOccurrences(of: " (none):", with: " ") }.sorted()
        #expect(expected.count == 3)

        let spool = try Scratch()
        defer { spool.cleanup() }
        let collector = PackageDatabaseCollector(temporaryDirectory: spool.path)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: database + "/rpmdb.sqlite")))
        offer([(["usr/lib/sysimage/rpm/rpmdb.sqlite"], bytes)], to: collector, chunk: 65536)
        #expect(spool.entries.count == 1, "spooled while streaming")
        let inventory = try collector.finish()
        #expect(spool.entries.isEmpty, "the spool is removed")
        let listed = inventory.packages.map { "\($0.name) \($0.displayVersion) \($0.architecture ?? "") \($0.license ?? "")" }.sorted()
        #expect(listed == expected)
        #expect(inventory.warnings.isEmpty)
        #expect(inventory.packages.allSatisfy { $0.location == "/usr/lib/sysimage/rpm/rpmdb.sqlite" })
    }

    @Test func unreadableDatabaseIsAWarning() throws {
        let spool = try Scratch()
        defer { spool.cleanup() }
        let collector = PackageDatabaseCollector(temporaryDirectory: spool.path)
        offer([text("var/lib/rpm/rpmdb.sqlite", String(repeating: "not sqlite ", count: 500)),
               text("var/lib/dpkg/status", "Package: a\nVersion: 1\n")], to: collector)
        let inventory = try collector.finish()
        #expect(inventory.packages.map(\.name) == ["a"])
        #expect(inventory.warnings.count == 1)
        #expect(inventory.warnings.first?.hasPrefix("/var/lib/rpm/rpmdb.sqlite: not a readable rpm database") == true)
        #expect(spool.entries.isEmpty)
    }

    @Test func berkeleyDatabaseIsNamed() throws {
        let spool = try Scratch()
        defer { spool.cleanup() }
        let collector = PackageDatabaseCollector(temporaryDirectory: spool.path)
        #expect(offer([text("var/lib/rpm/Packages", "bdb")], to: collector).isEmpty)
        let inventory = try collector.finish()
        #expect(inventory.warnings == ["/var/lib/rpm: an rpm database in Berkeley DB or ndb format, which sifter does not read: its packages are not listed"])
    }

    /// A spool that cannot be written is this machine's failure, reported by `finish`; the
    /// collector then wants nothing more.
    @Test func spoolFailureIsAnError() throws {
        let collector = PackageDatabaseCollector(temporaryDirectory: "/nonexistent-sifter-spool")
        #expect(offer([text("var/lib/rpm/rpmdb.sqlite", "x")], to: collector).isEmpty)
        #expect(!collector.wantsContent(of: [Array("var/lib/dpkg/status".utf8)]))
        #expect {
            try collector.finish()
        } throws: { error in
            guard case let .spool(path, operation, _) = error as? SBOMError else { return false }
            return path.hasPrefix("/nonexistent-sifter-spool/sifter-rpmdb-") && operation == "create"
        }
    }

    @Test func spoolLimitAndCleanupWithoutFinish() throws {
        let spool = try Scratch()
        defer { spool.cleanup() }
        var limits = PackageDatabaseCollector.Limits()
        limits.rpmDatabaseBytes = 100
        do {
            let collector = PackageDatabaseCollector(limits: limits, temporaryDirectory: spool.path)
            offer([text("var/lib/rpm/rpmdb.sqlite", String(repeating: "x", count: 101)),
                   text("usr/lib/sysimage/rpm/rpmdb.sqlite", String(repeating: "y", count: 50))], to: collector)
            #expect(spool.entries.count == 1)
        }
        // Dropped without `finish` (a build that failed later): nothing is left behind.
        #expect(spool.entries.isEmpty)
    }
}
