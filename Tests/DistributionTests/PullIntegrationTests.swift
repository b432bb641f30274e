import Foundation
@testable import Distribution
import OCISpec
import Testing

/// Pulls from a real registry on 127.0.0.1 (started per test by integration/registry/*.sh).
@Suite(.serialized, .enabled(if: RegistryFixture.isAvailable, "needs docker-registry, skopeo, htpasswd, openssl, python3, curl"))
struct PullIntegrationTests {
    static let amd64 = Platform(os: "linux", architecture: "amd64")

    static func options(credential: Credential? = nil, log: LogSink? = nil) -> RegistryOptions {
        var options = RegistryOptions(
            credentialSources: credential.map { [.explicit($0, registries: nil)] } ?? [], environment: [:], plainHTTP: true,
            logger: log?.logger)
        options.initialRetryDelay = 0.05
        return options
    }

    static func checkCache(_ cache: BlobCache, has descriptors: [ImageSummary.Desc]) throws {
        for d in descriptors {
            let digest = try Digest(parsing: d.digest)
            #expect(cache.path(for: digest) != nil, "\(d.digest) missing")
            #expect(try cache.verify(digest), "\(d.digest) does not verify")
        }
    }

    @Test func anonymousPullResolvesIndexAndVerifiesIntoCache() throws {
        let fixture = try RegistryFixture(mode: "none")
        let image = try fixture.seed(repository: "test/multi")
        let client = try RegistryClient(options: Self.options())
        let ref = try ImageReference.parse("docker://\(fixture.registry)/test/multi:latest")

        let resolved = try client.resolve(ref, platform: Self.amd64)
        #expect(resolved.indexDigest?.description == image.index)
        #expect(resolved.manifestDigest.description == image.amd64.digest)
        #expect(resolved.platform == Self.amd64)
        #expect(resolved.configDigest.description == image.amd64Config.digest)
        #expect(resolved.manifest.layers.map(\.digest.description) == image.amd64Layers.map(\.digest))
        let arm = try client.resolve(ref, platform: Platform(os: "linux", architecture: "arm64"))
        #expect(arm.manifestDigest.description == image.arm64.digest)
        #expect(arm.platform.variant == "v8")

        do {
            _ = try client.resolve(ref, platform: Platform(os: "linux", architecture: "s390x"))
            Issue.record("s390x resolved")
        } catch {
            #expect(error.description.contains("available: linux/amd64, linux/arm64/v8"), "\(error)")
            #expect(!error.description.contains("unknown"))
        }

        let single = try client.resolve(try ref.tagged("single"), platform: Self.amd64)
        #expect(single.indexDigest == nil)
        #expect(single.manifestDigest == resolved.manifestDigest)
        let pinned = try client.resolve(ref.pinned(to: resolved.manifestDigest))
        #expect(pinned.manifestBytes == resolved.manifestBytes)

        let cacheRoot = try RegistryFixture.temporaryDirectory("pull-cache")
        defer { try? FileManager.default.removeItem(atPath: cacheRoot) }
        let cache = try BlobCache(root: cacheRoot)
        let events = Locked<[BlobProgress]>([])
        try client.fetchBlobs(ref, resolved.manifest.layers + [resolved.manifest.config], into: cache) { p in events.withLock { $0.append(p) } }
        try Self.checkCache(cache, has: image.amd64Layers + [image.amd64Config])
        #expect(events.withLock { $0.filter { $0.event == .finished }.count } == 3)
        // Again: everything comes from the cache.
        events.withLock { $0.removeAll() }
        try client.fetchBlobs(ref, resolved.manifest.layers, into: cache) { p in events.withLock { $0.append(p) } }
        #expect(events.withLock { $0.map(\.event) } == [.cached, .cached])

        // Not there: a clear error naming registry, repository and what.
        let missing = try ImageReference.parse("\(fixture.registry)/test/multi:nope")
        #expect { try client.resolve(missing) } throws: { error in
            "\(error)" == "\(fixture.registry)/test/multi: manifest nope not found"
        }
        let hex = String(repeating: "0", count: 64)
        let bogus = Descriptor(mediaType: MediaType.ociLayer, digest: try Digest(sha256Hex: hex), size: 10)
        #expect(throws: DistributionError.self) { try client.fetchBlobs(ref, [bogus], into: cache) }
        #expect(cache.path(for: bogus.digest) == nil)
    }

    @Test func basicAuthentication() throws {
        let fixture = try RegistryFixture(mode: "basic")
        let image = try fixture.seed(repository: "private/img")
        let ref = try ImageReference.parse("\(fixture.registry)/private/img:single")
        let log = LogSink()

        let anonymous = try RegistryClient(options: Self.options(log: log))
        #expect { try anonymous.resolve(ref) } throws: { error in
            guard case DistributionError.unauthorized = error else { return false }
            return "\(error)".contains("\(fixture.registry)/private/img")
        }
        let wrong = try RegistryClient(options: Self.options(credential: Credential(username: fixture.user, password: "wrong-password"), log: log))
        #expect(throws: DistributionError.self) { try wrong.resolve(ref) }

        let client = try RegistryClient(options: Self.options(credential: Credential(username: fixture.user, password: fixture.password), log: log))
        let resolved = try client.resolve(ref)
        #expect(resolved.manifestDigest.description == image.amd64.digest)
        let cacheRoot = try RegistryFixture.temporaryDirectory("basic-cache")
        defer { try? FileManager.default.removeItem(atPath: cacheRoot) }
        let cache = try BlobCache(root: cacheRoot)
        try client.fetchBlobs(ref, resolved.manifest.layers, into: cache)
        try Self.checkCache(cache, has: image.amd64Layers)
        log.expectNoSecrets([fixture.password, "wrong-password", Data("\(fixture.user):\(fixture.password)".utf8).base64EncodedString()])
    }

    @Test func tokenAuthentication() throws {
        let fixture = try RegistryFixture(mode: "token")
        let image = try fixture.seed(repository: "tok/img")
        let ref = try ImageReference.parse("\(fixture.registry)/tok/img:latest")
        let log = LogSink()
        let seeding = fixture.events(fixture.env["TOKEN_LOG"] ?? "").count  // skopeo's requests

        // Anonymous pull through an anonymous token, as for public GHCR images.
        let anonymous = try RegistryClient(options: Self.options(log: log))
        let resolved = try anonymous.resolve(ref, platform: Self.amd64)
        #expect(resolved.manifestDigest.description == image.amd64.digest)
        // Anonymous push: the token server grants pull only, the registry refuses.
        #expect { try anonymous.putManifest(resolved.manifestBytes, mediaType: MediaType.ociManifest, to: try ref.tagged("copy")) } throws: { error in
            switch error as? DistributionError {
            case .unauthorized?, .denied?: return true
            default: return false
            }
        }

        let client = try RegistryClient(options: Self.options(credential: Credential(username: fixture.user, password: fixture.password), log: log))
        let cacheRoot = try RegistryFixture.temporaryDirectory("token-cache")
        defer { try? FileManager.default.removeItem(atPath: cacheRoot) }
        let cache = try BlobCache(root: cacheRoot)
        let withCredentials = try client.resolve(ref, platform: Self.amd64)
        try client.fetchBlobs(ref, withCredentials.manifest.layers, into: cache)
        try Self.checkCache(cache, has: image.amd64Layers)
        let digest = try client.putManifest(resolved.manifestBytes, mediaType: MediaType.ociManifest, to: try ref.tagged("copy"))
        #expect(digest == resolved.manifestDigest)

        let requests = fixture.events(fixture.env["TOKEN_LOG"] ?? "").dropFirst(seeding)
        #expect(!requests.isEmpty)
        #expect(requests.allSatisfy { $0["refused"] == nil }, "token server refused a request: \(requests)")
        // One scope per parameter, never space-joined; credentials only from the client that has them.
        for request in requests {
            for scope in request["scopes"]?.array ?? [] { #expect(!(scope.string ?? " ").contains(" ")) }
        }
        #expect(requests.contains { $0["basic"]?.bool == true })
        #expect(requests.contains { $0["basic"]?.bool == false })
        // Tokens are cached: far fewer token requests than registry requests.
        #expect(requests.count <= 8, "\(requests.count) token requests")
        log.expectNoSecrets([fixture.password])
    }

    /// Credentials from a docker config.json: an `identitytoken` goes through the OAuth2
    /// refresh-token grant (POST), a plain `auth` through Basic at the token endpoint.
    @Test func dockerConfigCredentialsIncludingIdentityToken() throws {
        let fixture = try RegistryFixture(mode: "token")
        try fixture.seed(repository: "cfg/img")
        let dir = try RegistryFixture.temporaryDirectory("docker-config")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let refresh = fixture.env["REGISTRY_REFRESH_TOKEN"] ?? ""
        try #"{"auths": {"\#(fixture.registry)": {"identitytoken": "\#(refresh)"}}}"#.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        let log = LogSink()
        var options = Self.options(log: log)
        options.credentialSources = [.dockerConfig(paths: nil)]
        options.environment = ["DOCKER_CONFIG": dir, "HOME": dir]
        let client = try RegistryClient(options: options)
        let ref = try ImageReference.parse("\(fixture.registry)/cfg/img:single")
        let seeding = fixture.events(fixture.env["TOKEN_LOG"] ?? "").count  // skopeo's requests
        let resolved = try client.resolve(ref)
        // Pushing needs the push grant, which only an authenticated token carries.
        try client.putManifest(resolved.manifestBytes, mediaType: MediaType.ociManifest, to: try ref.tagged("pushed"))
        let requests = fixture.events(fixture.env["TOKEN_LOG"] ?? "").dropFirst(seeding)
        #expect(requests.contains { $0["oauth"]?.bool == true && $0["refused"] == nil })
        #expect(!requests.contains { $0["basic"]?.bool == true })
        log.expectNoSecrets([refresh])

        // The same with a base64 `auth` entry: Basic at the token endpoint.
        let auth = Data("\(fixture.user):\(fixture.password)".utf8).base64EncodedString()
        try #"{"auths": {"http://\#(fixture.registry)/": {"auth": "\#(auth)"}}}"#.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        try RegistryClient(options: options).putManifest(resolved.manifestBytes, mediaType: MediaType.ociManifest, to: try ref.tagged("again"))
        let later = fixture.events(fixture.env["TOKEN_LOG"] ?? "").dropFirst(seeding + requests.count)
        #expect(later.contains { $0["basic"]?.bool == true && $0["refused"] == nil })
        log.expectNoSecrets([fixture.password, auth])
    }

    @Test func redirectedBlobsNeverReceiveAuthorization() throws {
        let fixture = try RegistryFixture(mode: "basic")
        let image = try fixture.seed(repository: "redir/img")
        let front = try fixture.startFront("redir", ["--redirect"])
        let ref = try ImageReference.parse("\(front)/redir/img:latest")
        let client = try RegistryClient(options: Self.options(credential: Credential(username: fixture.user, password: fixture.password)))
        let resolved = try client.resolve(ref, platform: Self.amd64)
        let cacheRoot = try RegistryFixture.temporaryDirectory("redirect-cache")
        defer { try? FileManager.default.removeItem(atPath: cacheRoot) }
        let cache = try BlobCache(root: cacheRoot)
        try client.fetchBlobs(ref, resolved.manifest.layers, into: cache)
        try Self.checkCache(cache, has: image.amd64Layers)
        let events = fixture.events(fixture.env["redir_EVENTS"] ?? "")
        #expect(events.contains { $0["event"]?.string == "redirect" })
        #expect(events.filter { $0["event"]?.string == "storage-get" }.count >= 2)
        #expect(!events.contains { $0["event"]?.string == "authorization-leak" }, "Authorization reached the storage host")
    }

    @Test func faultsAreRetriedAndDownloadsResume() throws {
        let fixture = try RegistryFixture(mode: "basic")
        let image = try fixture.seed(repository: "faulty/img")
        let front = try fixture.startFront("faults", ["--faults"])
        let ref = try ImageReference.parse("\(front)/faulty/img:latest")
        let log = LogSink()
        let client = try RegistryClient(options: Self.options(credential: Credential(username: fixture.user, password: fixture.password), log: log))
        let started = Date()
        let resolved = try client.resolve(ref, platform: Self.amd64)
        let cacheRoot = try RegistryFixture.temporaryDirectory("fault-cache")
        defer { try? FileManager.default.removeItem(atPath: cacheRoot) }
        let cache = try BlobCache(root: cacheRoot)
        try client.fetchBlobs(ref, resolved.manifest.layers, into: cache)
        try Self.checkCache(cache, has: image.amd64Layers)
        let events = fixture.events(fixture.env["faults_EVENTS"] ?? "").compactMap { $0["event"]?.string }
        #expect(events.contains("429"))
        #expect(events.contains("500"))
        #expect(events.contains("reset"))
        #expect(events.contains("range"), "a cut download must resume with Range: \(events)")
        // Retry-After: 1 was honoured for the manifest.
        #expect(Date().timeIntervalSince(started) >= 1)
        #expect(log.lines.contains { $0.contains("HTTP 429") })
        log.expectNoSecrets([fixture.password])
    }

    @Test func corruptedContentIsRefused() throws {
        let fixture = try RegistryFixture(mode: "none")
        let image = try fixture.seed(repository: "bad/img")
        let direct = try RegistryClient(options: Self.options())
        let good = try direct.resolve(try ImageReference.parse("\(fixture.registry)/bad/img:single"))
        let front = try fixture.startFront("corrupt", ["--corrupt"])
        let ref = try ImageReference.parse("\(front)/bad/img:single")
        let client = try RegistryClient(options: Self.options())
        // The manifest's Docker-Content-Digest does not match the bytes.
        #expect { try client.fetchManifest(ref) } throws: { error in
            guard case let DistributionError.digestMismatch(_, repository, _, expected, actual) = error else { return false }
            return repository == "bad/img" && expected.hex == String(repeating: "0", count: 64) && actual == good.manifestDigest
        }
        // Blob bodies with a flipped byte never reach the cache.
        let cacheRoot = try RegistryFixture.temporaryDirectory("corrupt-cache")
        defer { try? FileManager.default.removeItem(atPath: cacheRoot) }
        let cache = try BlobCache(root: cacheRoot)
        #expect { try client.fetchBlobs(ref, good.manifest.layers, into: cache) } throws: { error in
            guard case let DistributionError.digestMismatch(registry, _, _, _, _) = error else { return false }
            return registry == front
        }
        #expect(try cache.list().isEmpty)
        #expect(throws: DistributionError.self) { try client.fetchBlobBytes(ref, good.manifest.config) }
        _ = image
    }

    @Test func tlsWithCAFileOrInsecure() throws {
        let fixture = try RegistryFixture(mode: "basic", tls: true)
        let image = try fixture.seed(repository: "tls/img")
        let ref = try ImageReference.parse("\(fixture.registry)/tls/img:single")
        let credential = Credential(username: fixture.user, password: fixture.password)
        var options = Self.options(credential: credential)
        options.plainHTTP = false
        // Unknown CA: refused at once (not retried), and no credentials went anywhere.
        #expect { try RegistryClient(options: options).resolve(ref) } throws: { error in
            guard case let DistributionError.transport(_, attempts, underlying) = error else { return false }
            return attempts == 1 && "\(underlying)".contains("https://\(fixture.registry)")
        }
        options.caFile = fixture.env["REGISTRY_CA"]
        #expect(try RegistryClient(options: options).resolve(ref).manifestDigest.description == image.amd64.digest)
        options.caFile = nil
        options.insecure = true
        #expect(try RegistryClient(options: options).resolve(ref).manifestDigest.description == image.amd64.digest)
    }

    @Test func retriesAreBounded() throws {
        // Nothing listens on this port: a clear transport error after maxAttempts.
        var options = Self.options()
        options.maxAttempts = 2
        let client = try RegistryClient(options: options)
        let ref = try ImageReference.parse("127.0.0.1:9/none/img:1")
        #expect { try client.resolve(ref) } throws: { error in
            guard case let DistributionError.transport(registry, attempts, _) = error else { return false }
            return registry == "127.0.0.1:9" && attempts == 2
        }
    }

    @Test func concurrentPullsShareOneCache() throws {
        let fixture = try RegistryFixture(mode: "none")
        let image = try fixture.seed(repository: "shared/img", bigMiB: 8)
        let ref = try ImageReference.parse("\(fixture.registry)/shared/img:latest")
        let cacheRoot = try RegistryFixture.temporaryDirectory("shared-cache")
        defer { try? FileManager.default.removeItem(atPath: cacheRoot) }
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            do {
                let client = try RegistryClient(options: Self.options())
                let cache = try BlobCache(root: cacheRoot)
                let resolved = try client.resolve(ref, platform: Self.amd64)
                try client.fetchBlobs(ref, resolved.manifest.layers + [resolved.manifest.config], into: cache)
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let cache = try BlobCache(root: cacheRoot)
        try Self.checkCache(cache, has: image.amd64Layers + [image.amd64Config])
        #expect(try cache.list().count == 3)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: cacheRoot + "/ingest").filter { $0.hasSuffix(".partial") }
        #expect(leftovers == [])
    }
}

/// Collects `--verbose` lines and checks that no secret ever shows up in them.
final class LogSink: Sendable {
    private let store = Locked<[String]>([])
    var logger: @Sendable (String) -> Void { { [store] line in store.withLock { $0.append(line) } } }
    var lines: [String] { store.withLock { $0 } }

    func expectNoSecrets(_ secrets: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let all = lines
        #expect(!all.isEmpty, sourceLocation: sourceLocation)
        for secret in secrets {
            #expect(!all.contains { $0.contains(secret) }, "secret in log", sourceLocation: sourceLocation)
        }
    }
}
