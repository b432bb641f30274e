// swift-tools-version: 6.0
import PackageDescription

// Dependencies point one way only:
// sifter (CLI) -> SifterCore (pipeline) -> {Distribution, Rootfs, Squashfs, SIF, OCISpec, SBOM}
//   -> {Hashing, ArchiveIO, CurlHTTP} -> C leaves.
// SIF and OCISpec know nothing of the network or of C libraries.
let package = Package(
    name: "sifter",
    products: [
        .executable(name: "sifter", targets: ["sifter"]),
        .library(
            name: "SifterKit",
            targets: ["SifterCore", "SIF", "OCISpec", "Distribution", "Rootfs", "Squashfs", "Hashing", "ArchiveIO", "CurlHTTP", "OpenPGP", "SBOM"]
        ),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        // The wishlist of `sifter sync` is YAML: libyaml through Yams, rather than a subset parser
        // of our own that would read some valid YAML differently.
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CIsal", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),

        .target(name: "Hashing", dependencies: ["COpenSSL"]),
        .target(name: "OpenPGP", dependencies: ["COpenSSL"]),
        .target(name: "ArchiveIO", dependencies: ["CArchive", "CIsal"]),
        .target(name: "CurlHTTP", dependencies: ["CCurl"]),
        .target(name: "SIF"),
        .target(name: "OCISpec"),
        .target(name: "Distribution", dependencies: ["OCISpec", "CurlHTTP", "Hashing"]),
        .target(name: "Rootfs", dependencies: ["ArchiveIO", "OCISpec", "Hashing"]),
        .target(name: "Squashfs"),
        .target(name: "SBOM", dependencies: ["CSQLite"]),
        .target(
            name: "SifterCore",
            dependencies: [
                "SIF", "OCISpec", "Distribution", "Rootfs", "Squashfs", "Hashing", "ArchiveIO", "SBOM", "OpenPGP",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "sifter",
            // The lower modules only for their error types, which the CLI maps to exit codes.
            dependencies: [
                "SifterCore", "SIF", "OCISpec", "Distribution", "Rootfs", "Squashfs", "Hashing", "ArchiveIO", "CurlHTTP", "OpenPGP", "SBOM",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "SIFTests", dependencies: ["SIF"], resources: [.copy("Fixtures")]),
        .testTarget(name: "HashingTests", dependencies: ["Hashing"]),
        .testTarget(name: "OpenPGPTests", dependencies: ["OpenPGP"], resources: [.copy("Fixtures")]),
        // Hand-made tar bytes for the archive tests (damaged headers, pax records, sparse maps).
        .target(name: "TarFixtures", path: "Tests/TarFixtures"),
        .testTarget(name: "ArchiveIOTests", dependencies: ["ArchiveIO", "TarFixtures"]),
        .testTarget(name: "CurlHTTPTests", dependencies: ["CurlHTTP"]),
        .testTarget(name: "OCISpecTests", dependencies: ["OCISpec"]),
        .testTarget(name: "DistributionTests", dependencies: ["Distribution", "OCISpec", "Hashing", "CurlHTTP"]),
        .testTarget(name: "RootfsTests", dependencies: ["Rootfs", "ArchiveIO", "OCISpec", "TarFixtures"]),
        .testTarget(name: "SquashfsTests", dependencies: ["Squashfs"]),
        .testTarget(name: "SBOMTests", dependencies: ["SBOM"]),
        .testTarget(name: "SifterCoreTests", dependencies: ["SifterCore", "SIF", "Rootfs", "SBOM", "ArchiveIO", "OCISpec", "Hashing", "Distribution"]),
        .testTarget(name: "SigningTests", dependencies: ["SifterCore", "SIF", "OpenPGP"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
