import Foundation
import OCISpec
import Testing
@testable import SifterCore

@Suite struct SemverRangeTests {
    /// npm semver's documented desugarings (`node-semver` README, "Advanced Range Syntax").
    static let cases: [(range: String, inside: [String], outside: [String])] = [
        (">=1.2.0 <2", ["1.2.0", "1.9.9", "v1.5.0"], ["1.1.9", "2.0.0", "1.5.0-rc.1"]),
        ("^1.2.3", ["1.2.3", "1.9.0"], ["1.2.2", "2.0.0"]),
        ("^0.2.3", ["0.2.3", "0.2.9"], ["0.3.0", "0.2.2"]),
        ("^0.0.3", ["0.0.3"], ["0.0.4", "0.0.2"]),
        ("^1.x", ["1.0.0", "1.99.0"], ["2.0.0", "0.9.0"]),
        ("^0.x", ["0.0.0", "0.9.9"], ["1.0.0"]),
        ("~1.2.3", ["1.2.3", "1.2.9"], ["1.3.0", "1.2.2"]),
        ("~1", ["1.0.0", "1.9.9"], ["2.0.0"]),
        ("1.2", ["1.2.0", "1.2.7"], ["1.3.0", "1.1.9"]),
        ("1.2.x", ["1.2.0", "1.2.7"], ["1.3.0"]),
        ("=1.2.3", ["1.2.3"], ["1.2.4"]),
        (">1.2", ["1.3.0"], ["1.2.9"]),
        ("<=1.2", ["1.2.9", "0.1.0"], ["1.3.0"]),
        ("<1.2", ["1.1.9"], ["1.2.0"]),
        ("*", ["0.0.0", "9.9.9"], ["1.0.0-alpha"]),
        ("1.x || >=3.1 <3.2", ["1.4.0", "3.1.5"], ["2.0.0", "3.2.0"]),
    ]

    @Test func desugarings() throws {
        for (text, inside, outside) in Self.cases {
            let range = try SemverRange(parsing: text)
            for tag in inside { #expect(range.contains(try #require(TagVersion(tag))), "\(tag) in \(text)") }
            for tag in outside { #expect(!range.contains(try #require(TagVersion(tag))), "\(tag) not in \(text)") }
        }
    }

    @Test func badComparatorsAreRefused() {
        for text in [">=1.2.3.4", ">=a", "1.x.3", "~>1.2", ">=1..2", "^"] {
            #expect(throws: SyncError.self, "\(text)") { try SemverRange(parsing: text) }
        }
    }

    @Test func tagsThatAreVersions() {
        #expect(TagVersion("v1.2.3") == TagVersion("1.2.3"))
        for tag in ["1.2", "latest", "1.2.3.4", "01.2.3", "1.2.3-", "1.2.3-a..b"] { #expect(TagVersion(tag) == nil, "\(tag)") }
        // semver.org's precedence example.
        let ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"]
        let versions = ordered.compactMap(TagVersion.init)
        #expect(versions.count == ordered.count)
        #expect(versions == versions.shuffled().sorted())
    }

    @Test func selection() throws {
        let tags = ["1.0.0", "1.1.0", "v1.2.0", "1.3.0-rc1", "2.0.0", "main", "main-old", "1.10.0"]
        #expect(TagSelection(patterns: ["main*"]).select(from: tags) == ["main", "main-old"])
        let range = try SemverRange(parsing: ">=1.1 <2")
        #expect(TagSelection(versions: range).select(from: tags) == ["1.10.0", "v1.2.0", "1.1.0"])
        #expect(TagSelection(versions: range, newest: 2).select(from: tags) == ["1.10.0", "v1.2.0"])
        #expect(TagSelection(patterns: ["1.1*"], versions: range).select(from: tags) == ["1.10.0", "1.1.0"])
    }
}

@Suite struct WishlistTests {
    static let amd64 = Platform(os: "linux", architecture: "amd64")

    func parse(_ text: String, destination: Wishlist.Destination? = nil) throws -> Wishlist {
        try Wishlist.parse(text, path: "w.yaml", base: "/base", destination: destination, hostPlatform: Self.amd64)
    }

    @Test func entriesAndDefaults() throws {
        let list = try parse("""
            version: 1
            defaults:
              destination: sifs
              platforms: [linux/amd64, linux/aarch64]
              compression: zstd
            images:
              - docker://alpine:3.20
              - source: docker://ghcr.io/org/tool
                versions: ">=1 <2"
                newest: 3
                destination: oras://quay.io/org/
                platforms: linux/amd64
                block-size: 65536
              - source: oci:layouts/app:v1
                name: app
                tag: stable
                destination: /srv/sif
            """)
        #expect(list.entries.count == 3)
        let first = list.entries[0]
        #expect(first.place == "w.yaml:7:5")
        #expect(first.destination == .directory("/base/sifs"))
        #expect(first.platforms == [Self.amd64, Platform(os: "linux", architecture: "arm64", variant: "v8")])
        #expect(first.compression == "zstd")
        let second = list.entries[1]
        #expect(second.destination == .namespace("oras://quay.io/org"))
        #expect(second.selection?.newest == 3 && second.blockSize == 65536 && second.platforms == [Self.amd64])
        #expect(list.entries[2].source == "oci:/base/layouts/app:v1")
        #expect(list.entries[2].tag == "stable" && list.entries[2].name == "app")
        // The command line's destination replaces the defaults', not an entry's own.
        let overridden = try parse("defaults:\n  destination: a\nimages:\n  - docker://x.io/a:1\n  - source: docker://x.io/b:1\n    destination: b\n",
                                   destination: .directory("/cli"))
        #expect(overridden.entries.map(\.destination) == [.directory("/cli"), .directory("/base/b")])
    }

    @Test func scalarsStayAsWritten() throws {
        // YAML would read 3.20 as the number 3.2; a tag pattern must stay "3.20".
        let list = try parse("images:\n  - source: docker://x.io/alpine\n    tags: [3.20, '3.1*']\n    destination: d\n")
        #expect(list.entries[0].selection?.patterns == ["3.20", "3.1*"])
    }

    @Test func mistakesNameTheirLine() {
        let cases: [(String, String)] = [
            ("images:\n  - source: docker://x.io/a:1\n    destination: d\n    platfrom: linux/amd64\n", "w.yaml:4:5: unknown key \"platfrom\""),
            ("images:\n  - docker://x.io/a:1\n", "no destination"),
            ("defaults:\n  destination: d\nimages:\n  - x.io/a:1\n", "must start with docker://"),
            ("defaults:\n  destination: d\nimages:\n  - source: docker://x.io/a:1\n    tags: ['1*']\n", "without tag or digest"),
            ("defaults:\n  destination: d\nimages:\n  - source: docker://x.io/a\n    newest: 2\n", "newest: needs versions:"),
            ("defaults:\n  destination: d\nimages:\n  - source: docker://x.io/a:1\n    name: ../up\n", "may hold letters"),
            ("defaults:\n  destination: d\nimages:\n  - source: docker://x.io/a\n    versions: '>=q'\n", "w.yaml:5:15"),
            ("version: 2\nimages: []\n", "version 2 is not known"),
            ("images: {a: 1}\n", "images: must be a list"),
            ("images:\n  - [a, b\n", "not valid YAML"),
        ]
        for (text, expected) in cases {
            do {
                _ = try parse(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect("\(error)".contains(expected), "\(error) should contain \(expected)")
            }
        }
    }

    @Test func planNamesOutputsAndRefusesDuplicates() throws {
        let list = try parse("""
            defaults:
              destination: /sifs
            images:
              - docker://x.io/org/alpine:3.20
              - docker://x.io/org/alpine@sha256:\(String(repeating: "a", count: 64))
              - source: docker://x.io/org/tool
                tags: ['1.*']
              - source: docker://x.io/org/multi:2
                platforms: [linux/amd64, linux/arm64]
              - source: docker://x.io/org/alpine:3.20
                destination: oras://reg.io/mirror/
              - source: docker://x.io/org/broken
                versions: '>=1'
            """)
        let plan = try list.plan { reference in
            guard reference.repository == "org/tool" else { throw SyncError.invalidShard("no tags for \(reference.repository)") }
            return ["0.9", "1.1", "1.0"]
        }
        let destinations = plan.items.map(\.destinationText)
        #expect(destinations == [
            "/sifs/alpine_3.20.sif", "/sifs/alpine_sha256-aaaaaaaaaaaa.sif", "/sifs/tool_1.0.sif", "/sifs/tool_1.1.sif",
            "/sifs/multi_2_amd64.sif, /sifs/multi_2_arm64.sif", "oras://reg.io/mirror/alpine:3.20",
        ])
        #expect(plan.failures.map(\.source) == ["docker://x.io/org/broken"])
        #expect(plan.directories == ["/sifs"])
        let twice = try parse("defaults:\n  destination: /d\nimages:\n  - docker://x.io/a:1\n  - source: docker://y.io/a:1\n")
        #expect(throws: SyncError.duplicateOutput("/d/a_1.sif", places: ["w.yaml:4:5", "w.yaml:5:5"])) { try twice.plan { _ in [] } }
    }
}

@Suite struct ShardTests {
    @Test func sharesAreStableDisjointAndSpread() throws {
        let keys = (1...400).map { "/srv/sif/app-\($0)_1.0.sif" }
        for count in [1, 2, 3, 8] {
            let shards = (0..<count).map { SyncShard(index: $0, count: count) }
            var sizes: [Int] = []
            for shard in shards { sizes.append(keys.filter(shard.owns).count) }
            #expect(sizes.reduce(0, +) == keys.count, "every key in exactly one of \(count) shards")
            for key in keys { #expect(shards.filter { $0.owns(key) }.count == 1) }
            // Spread: no shard more than 1.5 times its fair share.
            #expect(sizes.max()! * 2 <= keys.count / count * 3, "\(sizes)")
        }
        // Fixed values (computed independently, in Python): the hash is part of the contract
        // between machines and runs, so it may never change with the Swift version.
        #expect(SyncShard.bucket(of: "oras://reg/x:1", count: 7) == 0)
        #expect(SyncShard.bucket(of: "/d/a_1.sif", count: 7) == 6)
    }

    @Test func parsing() throws {
        #expect(try SyncShard(parsing: "2/4") == SyncShard(index: 2, count: 4))
        for text in ["4/4", "-1/4", "1", "1/0", "a/b", "1/2/3"] {
            #expect(throws: SyncError.invalidShard(text)) { try SyncShard(parsing: text) }
        }
        #expect(SyncShard.matrix(3) == #"{"shard":["0/3","1/3","2/3"]}"#)
    }
}
