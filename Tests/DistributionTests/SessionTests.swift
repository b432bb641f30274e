import CurlHTTP
import Foundation
@testable import Distribution
import Hashing
import OCISpec
import Testing

/// `Session`'s rules against a scripted transport: where credentials go, redirects and upload
/// `Location`s, retries, the token dance, the token realm rules, deadlines and cancellation.
@Suite(.timeLimit(.minutes(1)))
struct SessionTests {
    static let registry = "https://registry.example"
    static let ref = try! ImageReference.parse("registry.example/team/app:v1")
    static let config = Array(#"{"architecture":"amd64","os":"linux"}"#.utf8)
    static var configDescriptor: Descriptor {
        Descriptor(mediaType: MediaType.ociConfig, digest: try! Digest(sha256Hex: SHA256.hash(config).hex), size: Int64(config.count))
    }

    /// The registry asks for Basic credentials on anything that has none.
    static func basicChallenge(_ sent: ScriptedWeb.Sent) -> ScriptedWeb.Answer? {
        sent.authorization == scriptedBasic ? nil : .json(401, #"{"errors":[{"code":"UNAUTHORIZED"}]}"#, [("WWW-Authenticate", #"Basic realm="r""#)])
    }

    @Test func aRedirectToAnotherHostCarriesNoCredentials() throws {
        let web = ScriptedWeb { sent in
            if sent.host == Self.registry {
                return Self.basicChallenge(sent) ?? .init(307, [("Location", "https://cdn.example/blob?X-Amz-Signature=abc")])
            }
            return .init(200, body: Self.config)
        }
        let bytes = try web.client(scriptedOptions()).fetchBlobBytes(Self.ref, Self.configDescriptor)
        #expect(bytes == Self.config)
        #expect(web.sent(to: Self.registry).map(\.authorization) == [nil, scriptedBasic])
        let cdn = web.sent(to: "https://cdn.example")
        #expect(cdn.count == 1)
        #expect(cdn.allSatisfy { $0.authorization == nil })
    }

    /// An upload `Location` on another origin (S3-style pre-signed URL): nothing the registry's
    /// credentials unlock goes there, and the upload completes.
    @Test func anUploadLocationOnAnotherHostCarriesNoCredentials() throws {
        let blob = try Self.blobFile(Array("sif bytes".utf8))
        defer { try? FileManager.default.removeItem(atPath: blob.path) }
        let web = ScriptedWeb { sent in
            if sent.host == Self.registry {
                if let challenge = Self.basicChallenge(sent) { return challenge }
                if sent.method == "HEAD" { return .init(404) }
                return .init(202, [("Location", "https://storage.example/upload/1?X-Amz-Signature=s")])
            }
            return .init(201)
        }
        try web.client(scriptedOptions()).uploadBlob(Self.ref, file: blob.path, digest: blob.digest, size: blob.size)
        let storage = web.sent(to: "https://storage.example")
        #expect(storage.map(\.method) == ["PUT"])
        #expect(storage.allSatisfy { $0.authorization == nil })
        #expect(web.sent(to: Self.registry).last?.authorization == scriptedBasic)
    }

    @Test func anotherHostAskingForCredentialsIsAClearError() throws {
        let blob = try Self.blobFile(Array("sif bytes".utf8))
        defer { try? FileManager.default.removeItem(atPath: blob.path) }
        let web = ScriptedWeb { sent in
            if sent.host == Self.registry {
                return Self.basicChallenge(sent) ?? .init(202, [("Location", "https://storage.example/upload/1")])
            }
            return .json(401, "{}", [("WWW-Authenticate", #"Basic realm="storage""#)])
        }
        #expect {
            try web.client(scriptedOptions()).uploadBlob(Self.ref, file: blob.path, digest: blob.digest, size: blob.size)
        } throws: { error in
            guard case let DistributionError.authentication(registry, reason) = error else { return false }
            return registry == "registry.example" && reason.contains("https://storage.example")
                && reason.contains("sends credentials to the registry's own address (https://registry.example) only")
        }
        #expect(!web.sent(to: "https://storage.example").isEmpty)
        #expect(web.sent(to: "https://storage.example").allSatisfy { $0.authorization == nil })
    }

    @Test func httpsIsNeverLeftForPlainHTTP() throws {
        let redirecting = ScriptedWeb { sent in
            sent.host == Self.registry ? .init(302, [("Location", "http://cdn.example/blob")]) : .init(200, body: Self.config)
        }
        #expect {
            _ = try redirecting.client(scriptedOptions()).fetchBlobBytes(Self.ref, Self.configDescriptor)
        } throws: { "\($0)".contains("refusing redirect to http://cdn.example/blob") }
        #expect(redirecting.sent(to: "http://cdn.example").isEmpty)

        let blob = try Self.blobFile(Array("sif bytes".utf8))
        defer { try? FileManager.default.removeItem(atPath: blob.path) }
        let uploading = ScriptedWeb { sent in
            if sent.host != Self.registry { return .init(201) }
            if sent.method == "HEAD" { return .init(404) }
            return .init(202, [("Location", "http://storage.example/upload/1")])
        }
        #expect {
            try uploading.client(scriptedOptions()).uploadBlob(Self.ref, file: blob.path, digest: blob.digest, size: blob.size)
        } throws: { "\($0)".contains("refusing to continue the upload at http://storage.example/upload/1") }
        #expect(uploading.sent(to: "http://storage.example").isEmpty)
    }

    @Test func retriesHonourRetryAfterAndReportWhatTheRegistrySaid() throws {
        let calls = Locked(0)
        let web = ScriptedWeb { _ in
            let n = calls.withLock { $0 += 1; return $0 }
            return n == 1 ? .json(429, "{}", [("Retry-After", "7")])
                : .json(503, #"{"errors":[{"code":"UNAVAILABLE","message":"down for maintenance"}]}"#)
        }
        var options = scriptedOptions()
        options.maxAttempts = 3
        #expect {
            _ = try web.client(options).fetchManifest(Self.ref)
        } throws: { error in
            let text = "\(error)"
            return text.contains("GET manifest v1 still failing after 3 attempts; the last one got HTTP 503: UNAVAILABLE down for maintenance")
                && !text.contains("HTTP 0")
        }
        #expect(web.sent.count == 3)
        #expect(web.pauses.first == 7)
        #expect(web.pauses.count == 2)
    }

    /// A chunked upload whose connections keep failing names the failure, not "HTTP 0".
    @Test func connectionFailuresAreReportedAsSuch() throws {
        let blob = try Self.blobFile((0..<3000).map { UInt8(truncatingIfNeeded: $0) })
        defer { try? FileManager.default.removeItem(atPath: blob.path) }
        let web = ScriptedWeb { sent in
            switch sent.method {
            case "HEAD": return .init(404)
            case "POST": return .init(202, [("Location", "/v2/team/app/blobs/uploads/1")])
            case "PATCH": return .init(failure: curlFailure(56, "Failure when receiving data from the peer"))
            case "GET": return .init(204, [("Range", "0-0")])
            default: return .init(204)
            }
        }
        var options = scriptedOptions(credential: nil)
        options.monolithicUploadLimit = 1000
        options.uploadChunkSize = 1000
        #expect {
            try web.client(options).uploadBlob(Self.ref, file: blob.path, digest: blob.digest, size: blob.size)
        } throws: { error in
            let text = "\(error)"
            return text.contains("still failing after 3 attempts; the last one got no answer: ")
                && text.contains("Failure when receiving data from the peer [CURLcode 56]") && !text.contains("HTTP 0")
        }
    }

    @Test func aTokenIsFetchedOnceAndA401AfterItIsReported() throws {
        let realm = "https://auth.example/token"
        let granted = Locked(true)
        let web = ScriptedWeb { sent in
            if sent.host == "https://auth.example" {
                return .json(200, #"{"token":"tok-123456","expires_in":300}"#)
            }
            if sent.authorization == "Bearer tok-123456", granted.withLock({ $0 }) { return .init(200, body: Self.config) }
            return .json(401, #"{"errors":[{"code":"UNAUTHORIZED","message":"token rejected"}]}"#,
                         [("WWW-Authenticate", #"Bearer realm="\#(realm)",service="registry.example",scope="repository:team/app:pull""#)])
        }
        let client = try web.client(scriptedOptions())
        #expect(try client.fetchBlobBytes(Self.ref, Self.configDescriptor) == Self.config)
        let tokenRequests = web.sent(to: "https://auth.example")
        #expect(tokenRequests.count == 1)
        #expect(tokenRequests.first?.authorization == scriptedBasic)
        #expect(tokenRequests.first?.url.contains("scope=repository%3Ateam%2Fapp%3Apull") == true)
        #expect(web.sent(to: Self.registry).map(\.authorization) == [nil, "Bearer tok-123456"])

        // The registry refuses the token: a fresh one is asked for, and since it is the same one,
        // the 401 is reported after a single registry request (no loop).
        granted.withLock { $0 = false }
        let before = web.sent.count
        #expect {
            _ = try client.fetchBlobBytes(Self.ref, Self.configDescriptor)
        } throws: { error in
            guard case DistributionError.unauthorized = error else { return false }
            return "\(error)".contains("token rejected")
        }
        #expect(web.sent.dropFirst(before).filter { $0.host == Self.registry }.count == 1)
    }

    /// Over plain http, credentials go to a token service only on the registry's origin, a
    /// loopback address or one explicitly allowed; anything else is refused before connecting.
    @Test func plainHTTPTokenRealmRules() throws {
        let plainRef = try ImageReference.parse("registry.example:5000/team/app:v1")
        func attempt(realm: String, plainHTTP: Bool = true, allowed: Set<String> = [], credential: Bool = true)
            throws -> (ScriptedWeb, Result<[UInt8], any Error>)
        {
            let web = ScriptedWeb { sent in
                if sent.url.hasPrefix(realm) { return .json(200, #"{"token":"tok-abcdef"}"#) }
                if sent.authorization == "Bearer tok-abcdef" { return .init(200, body: Self.config) }
                return .json(401, "{}", [("WWW-Authenticate", #"Bearer realm="\#(realm)",service="s""#)])
            }
            var options = scriptedOptions(plainHTTP: plainHTTP, credential: credential ? Credential(username: "robot", password: "hunter2-secret") : nil)
            options.plainHTTPRealms = allowed
            let client = try web.client(options)
            return (web, Result { try client.fetchBlobBytes(plainRef, Self.configDescriptor) })
        }
        // Another host by name: refused, nothing sent there.
        let (refused, refusal) = try attempt(realm: "http://auth.example/token")
        #expect(refused.sent.filter { $0.url.hasPrefix("http://auth.example") }.isEmpty)
        guard case let .failure(error) = refusal else { Issue.record("credentials went to http://auth.example"); return }
        #expect("\(error)".contains("refusing to send credentials over plain http to the token service http://auth.example/token"))
        #expect("\(error)".contains("SIFTER_PLAIN_HTTP_REALMS=auth.example"))
        // Loopback, the registry's own origin, or allowed by name: credentials go.
        for (realm, allowed) in [("http://127.0.0.1:9999/token", Set<String>()), ("http://localhost/token", []),
                                 ("http://[::1]:8080/token", []), ("http://registry.example:5000/token", []),
                                 ("http://auth.example/token", ["auth.example"]), ("http://auth.example:81/token", ["auth.example:81"])]
        {
            let (web, result) = try attempt(realm: realm, allowed: allowed)
            #expect((try? result.get()) == Self.config, "\(realm)")
            #expect(web.sent.first { $0.url.hasPrefix(realm) }?.authorization == scriptedBasic, "\(realm)")
        }
        // No credentials: an anonymous token from anywhere is harmless.
        let (_, anonymous) = try attempt(realm: "http://auth.example/token", credential: false)
        #expect((try? anonymous.get()) == Self.config)
        // Without --plain-http, a plain-http realm never gets credentials, loopback or not.
        let (_, https) = try attempt(realm: "http://127.0.0.1:9999/token", plainHTTP: false)
        #expect(throws: DistributionError.self) { try https.get() }
    }

    /// Small requests get an overall deadline (passed down as the exchange's timeout); blob
    /// bodies have none. When it runs out, the error names the operation and the deadline.
    @Test func smallRequestsHaveADeadlineBlobsDoNot() throws {
        let web = ScriptedWeb { sent in
            if sent.url.contains("/manifests/") {
                // What curl does when its whole-transfer limit fires.
                Thread.sleep(forTimeInterval: sent.timeout ?? 0)
                return .init(failure: curlFailure(28, "Timeout was reached"))
            }
            return .init(200, body: Self.config)
        }
        var options = scriptedOptions(credential: nil)
        options.requestTimeout = 0.3
        let client = try web.client(options)
        #expect {
            _ = try client.fetchManifest(Self.ref)
        } throws: { error in
            guard case let DistributionError.deadlineExceeded(_, _, operation, seconds) = error else { return false }
            return operation == "GET manifest v1" && seconds == 0.3
                && "\(error)".contains("GET manifest v1 did not complete within its deadline of 0.3 s")
        }
        #expect(web.sent.count == 1, "a spent deadline is not retried")
        #expect((web.sent.first?.timeout ?? 1) <= 0.3)

        let root = try RegistryFixture.temporaryDirectory("deadline-cache")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try client.fetchBlobs(Self.ref, [Self.configDescriptor], into: try BlobCache(root: root))
        #expect(web.sent.last.map { $0.url.contains("/blobs/") && $0.timeout == nil } == true)
    }

    /// A cancelled download batch stops waiting out its backoff at once (here a Retry-After
    /// of an hour; the suite's time limit fails the test if the wait is slept out).
    @Test func aCancelledBatchDoesNotSleepOutItsBackoff() throws {
        let asked = DispatchSemaphore(value: 0)
        let web = ScriptedWeb { _ in
            asked.signal()
            return .json(503, "{}", [("Retry-After", "3600")])
        }
        var options = scriptedOptions(credential: nil)
        options.maxRetryAfter = 3600
        let root = try RegistryFixture.temporaryDirectory("cancel-cache")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let downloads = try web.client(options, realPause: true).startBlobs(Self.ref, [Self.configDescriptor], into: try BlobCache(root: root))
        asked.wait()
        downloads.cancel()
        #expect {
            try downloads.wait()
        } throws: { error in
            guard case DistributionError.cancelled = error else { return false }
            return true
        }
        #expect(web.sent.count == 1)
    }

    static func blobFile(_ bytes: [UInt8]) throws -> (path: String, digest: Digest, size: Int64) {
        let path = NSTemporaryDirectory() + "sifter-test-blob-\(UUID().uuidString.prefix(8))"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, try Digest(sha256Hex: SHA256.hash(bytes).hex), Int64(bytes.count))
    }
}
