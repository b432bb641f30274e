import Foundation
@testable import Distribution
import Testing

/// The default cache, ~/.cache/sifter, on an account that has no ~/.cache yet (a fresh Debian
/// root's /root, a new CI user): the cache's missing parents are made, private to the user.
struct BlobCacheParentTests {
    @Test func missingParentsAreCreated() throws {
        let home = try RegistryFixture.temporaryDirectory("home")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let root = BlobCache.defaultRoot(environment: ["HOME": home])
        let cache = try BlobCache(root: root)
        var info = stat()
        #expect(stat(cache.root + "/blobs/sha256", &info) == 0)
        #expect(stat(home + "/.cache", &info) == 0 && info.st_mode & 0o777 == 0o700)
    }
}
