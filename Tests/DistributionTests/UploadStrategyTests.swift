import CurlHTTP
import Foundation
@testable import Distribution
import OCISpec
import Synchronization
import Testing

/// A registry's upload sessions in a scripted web. The scripted transport carries no body
/// bytes, so the registry counts what each request would carry (`Content-Range` checked
/// against what it holds) and answers by the rules a test gives it: GHCR's 4 MiB cap on a
/// `PATCH` body, Quay's status `Range`, a cut or refused single `PUT`, a lost answer.
final class ScriptedUploads: Sendable {
    struct Rules: Sendable {
        /// `PATCH` bodies above this get GHCR's 416.
        var chunkCap: Int64?
        /// Status answers as Quay writes them: `bytes=0-<count>`, no `Location`.
        var quayStatus = false
        /// The first `PUT` with a body is cut (a connection reset) once this many bytes arrived.
        var cutFirstPUTAt: Int64?
        /// A `PUT` with the whole blob is refused with 413.
        var refuseWholePUT = false
        /// The first `PUT` with a body is stored, but its answer is a 500.
        var loseFirstPUTAnswer = false
        /// Every upload request with a body answers this status (with an error body).
        var alwaysStatus: Int?
        var minimumChunk: Int64?
    }

    struct State {
        var held: [String: Int64] = [:]
        var sessions = 0
        var stored = false
        var bodyPUTs = 0
    }

    let size: Int64
    let rules: Rules
    let state = Mutex(State())
    static let ghcr416 = #"{"errors":[{"code":"REQUESTED_RANGE_NOT_SATISFIABLE","message":"the request body is too large and exceeds the maximum permissible limit of 4.00MiB"}]}"#

    init(size: Int64, rules: Rules) {
        self.size = size
        self.rules = rules
    }

    func respond(_ sent: ScriptedWeb.Sent) -> ScriptedWeb.Answer {
        let path = sent.url.replacingOccurrences(of: SessionTests.registry, with: "")
        if path.hasPrefix("/v2/team/app/blobs/sha256:") {
            return state.withLock { $0.stored } ? .init(200, [("Content-Length", "\(size)")]) : .init(404)
        }
        if sent.method == "POST" {
            let id = state.withLock { $0.sessions += 1; $0.held["u\($0.sessions)"] = 0; return "u\($0.sessions)" }
            var headers = [("Location", "/v2/team/app/blobs/uploads/\(id)")]
            if let minimum = rules.minimumChunk { headers.append(("OCI-Chunk-Min-Length", "\(minimum)")) }
            return .init(202, headers)
        }
        guard let idStart = path.range(of: "/blobs/uploads/") else { return .init(400) }
        let id = String(path[idStart.upperBound...].prefix { $0 != "?" })
        let location = [("Location", "/v2/team/app/blobs/uploads/\(id)")]
        return state.withLock { state -> ScriptedWeb.Answer in
            guard let held = state.held[id] else { return .json(404, #"{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN"}]}"#) }
            if let status = rules.alwaysStatus, sent.bodyLength > 0 {
                return .json(status, #"{"errors":[{"code":"UNAVAILABLE","message":"storage is resting"}]}"#)
            }
            switch sent.method {
            case "GET":
                if rules.quayStatus { return .init(204, [("Range", "bytes=0-\(held)")]) }
                return .init(204, location + [("Range", "0-\(max(held - 1, 0))")])
            case "PATCH":
                if let cap = rules.chunkCap, sent.bodyLength > cap { return .json(416, Self.ghcr416) }
                guard let range = sent.header("Content-Range"), range.hasPrefix("\(held)-") else {
                    return .init(416, location + [("Range", "0-\(max(held - 1, 0))")])
                }
                state.held[id] = held + sent.bodyLength
                return .init(202, location + [("Range", "0-\(held + sent.bodyLength - 1)")])
            case "PUT":
                if sent.bodyLength > 0 {
                    state.bodyPUTs += 1
                    if rules.refuseWholePUT, held == 0, sent.bodyLength == size { return .json(413, #"{"errors":[{"code":"SIZE_INVALID"}]}"#) }
                    if let cut = rules.cutFirstPUTAt, state.bodyPUTs == 1 {
                        state.held[id] = held + cut
                        return .init(failure: curlFailure(55, "Failed sending data to the peer"))
                    }
                }
                guard held + sent.bodyLength == size else { return .json(400, #"{"errors":[{"code":"DIGEST_INVALID"}]}"#) }
                state.stored = true
                state.held[id] = nil
                if rules.loseFirstPUTAnswer, state.bodyPUTs == 1 { return .json(500, #"{"errors":[{"code":"UNKNOWN"}]}"#) }
                return .init(201)
            case "DELETE":
                state.held[id] = nil
                return .init(204)
            default:
                return .init(405)
            }
        }
    }
}

@Suite(.timeLimit(.minutes(1)))
struct UploadStrategyTests {
    static let MiB: Int64 = 1 << 20

    /// A sparse file of `size` bytes: the scripted transport never reads it.
    static func blob(_ size: Int64) throws -> (path: String, digest: Digest) {
        let path = NSTemporaryDirectory() + "sifter-upload-\(UUID().uuidString.prefix(8))"
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(size))
        try handle.close()
        return (path, try Digest(sha256Hex: String(repeating: "ab", count: 32)))
    }

    /// Uploads a blob of `size` bytes to a scripted registry with `rules`; returns what was sent.
    static func upload(_ size: Int64, _ rules: ScriptedUploads.Rules, tune: (inout RegistryOptions) -> Void = { _ in })
        throws -> (registry: ScriptedUploads, web: ScriptedWeb, client: RegistryClient)
    {
        let registry = ScriptedUploads(size: size, rules: rules)
        let web = ScriptedWeb { registry.respond($0) }
        var options = scriptedOptions(credential: nil)
        options.maxAttempts = 5
        tune(&options)
        let client = try web.client(options)
        let file = try blob(size)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        try client.uploadBlob(SessionTests.ref, file: file.path, digest: file.digest, size: size)
        return (registry, web, client)
    }

    static func patches(_ web: ScriptedWeb) -> [ScriptedWeb.Sent] { web.sent.filter { $0.method == "PATCH" } }

    /// Blobs of any size go up in one streamed PUT after the POST: a 300 MiB blob is no
    /// chunked upload (which GHCR refuses above 4 MiB per request).
    @Test func aBlobGoesUpInOnePUT() throws {
        let (registry, web, _) = try Self.upload(300 * Self.MiB, .init(chunkCap: 4 * Self.MiB))
        #expect(web.sent.map(\.method) == ["POST", "PUT"])
        #expect(web.sent.last?.bodyLength == 300 * Self.MiB)
        #expect(registry.state.withLock { $0.stored })
    }

    /// Chunks a registry refuses as too large (GHCR's 416) are halved down to 4 MiB, and the
    /// client never again sends a larger chunk to that registry.
    @Test func refusedChunksShrinkAndTheLimitIsKept() throws {
        let (registry, web, client) = try Self.upload(40 * Self.MiB, .init(chunkCap: 4 * Self.MiB)) { options in
            options.monolithicUploadLimit = 32 * Self.MiB
            options.uploadChunkSize = 32 * Self.MiB
        }
        #expect(registry.state.withLock { $0.stored })
        let sizes = Self.patches(web).map(\.bodyLength)
        #expect(sizes.prefix(4) == [32 * Self.MiB, 16 * Self.MiB, 8 * Self.MiB, 4 * Self.MiB])
        #expect(sizes.dropFirst(3).allSatisfy { $0 <= 4 * Self.MiB })
        #expect(sizes.dropFirst(3).reduce(0, +) == 40 * Self.MiB)
        #expect(registry.state.withLock { $0.sessions } == 1)

        // The same client, another upload: 4 MiB chunks from the start.
        let file = try Self.blob(40 * Self.MiB)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        let before = Self.patches(web).count
        try client.uploadBlob(SessionTests.ref, file: file.path, digest: file.digest, size: 40 * Self.MiB)
        let later = Self.patches(web).dropFirst(before).map(\.bodyLength)
        #expect(later.count == 10 && later.allSatisfy { $0 == 4 * Self.MiB })
    }

    /// A single PUT cut midway: the registry is asked where it stands and the rest follows in
    /// chunks from there, in the same session.
    @Test func aCutPUTIsResumedInChunks() throws {
        let (registry, web, _) = try Self.upload(20 * Self.MiB, .init(chunkCap: 4 * Self.MiB, cutFirstPUTAt: 10 * Self.MiB))
        #expect(registry.state.withLock { $0.stored && $0.sessions == 1 && $0.bodyPUTs == 1 })
        let methods = web.sent.map(\.method)
        #expect(methods.prefix(3) == ["POST", "PUT", "GET"])
        let patches = Self.patches(web)
        #expect(patches.first?.header("Content-Range")?.hasPrefix("\(10 * Self.MiB)-") == true)
        #expect(patches.filter { $0.bodyLength <= 4 * Self.MiB }.reduce(0) { $0 + $1.bodyLength } == 10 * Self.MiB)
        #expect(methods.last == "PUT" && web.sent.last?.bodyLength == 0)
    }

    /// Quay answers an upload status with the count of bytes it holds (`bytes=0-<count>`):
    /// the upload goes on from exactly there.
    @Test func quaysStatusRangeIsACount() throws {
        let (registry, web, _) = try Self.upload(9 * Self.MiB, .init(quayStatus: true, cutFirstPUTAt: 5 * Self.MiB))
        #expect(registry.state.withLock { $0.stored && $0.sessions == 1 })
        #expect(Self.patches(web).first?.header("Content-Range") == "\(5 * Self.MiB)-\(9 * Self.MiB - 1)")
    }

    /// distribution answers `0-0` for an empty upload: nothing held, so from byte 0.
    @Test func anEmptyUploadStatusMeansFromTheStart() throws {
        let (registry, web, _) = try Self.upload(3 * Self.MiB, .init(cutFirstPUTAt: 0))
        #expect(registry.state.withLock { $0.stored && $0.sessions == 1 })
        #expect(Self.patches(web).first?.header("Content-Range") == "0-\(3 * Self.MiB - 1)")
        #expect(RegistryClient.heldBytes(statusRange: "0-0") == 0)
        #expect(RegistryClient.heldBytes(statusRange: "0-1023") == 1024)
        #expect(RegistryClient.heldBytes(statusRange: "bytes=0-1024") == 1024)
    }

    /// A registry that refuses the whole blob in one request (413) gets it in chunks, at least
    /// its `OCI-Chunk-Min-Length` each.
    @Test func aRefusedSinglePUTBecomesChunks() throws {
        let (registry, web, _) = try Self.upload(20 * Self.MiB, .init(refuseWholePUT: true, minimumChunk: 8 * Self.MiB)) { options in
            options.uploadChunkSize = Self.MiB
        }
        #expect(registry.state.withLock { $0.stored && $0.sessions == 1 })
        #expect(Self.patches(web).map(\.bodyLength) == [8 * Self.MiB, 8 * Self.MiB, 4 * Self.MiB])
    }

    /// The registry stored the blob but the answer to the PUT was lost: the session is gone,
    /// the blob is there, and it is not uploaded twice.
    @Test func aLostAnswerDoesNotUploadTwice() throws {
        let (registry, web, _) = try Self.upload(6 * Self.MiB, .init(loseFirstPUTAnswer: true))
        #expect(registry.state.withLock { $0.bodyPUTs == 1 && $0.sessions == 1 })
        #expect(web.sent.filter { $0.bodyLength > 0 }.count == 1)
        #expect(web.sent.last?.method == "HEAD")
    }

    /// Chunks refused even at 4 MiB: the error is the registry's answer, not "HTTP 0".
    @Test func aChunkRefusedAtTheSmallestSizeIsReportedAsTheRegistrySaidIt() throws {
        #expect {
            _ = try Self.upload(10 * Self.MiB, .init(chunkCap: 2 * Self.MiB)) { $0.monolithicUploadLimit = 0 }
        } throws: { error in
            let text = "\(error)"
            return text.contains("upload chunk of blob sha256:abababababab failed with HTTP 416: REQUESTED_RANGE_NOT_SATISFIABLE "
                + "the request body is too large and exceeds the maximum permissible limit of 4.00MiB") && !text.contains("HTTP 0")
        }
    }

    /// Retryable statuses on every upload request: attempts are bounded, waits taken, and the
    /// error says what the last attempt got.
    @Test func uploadRetriesReportWhatTheRegistrySaid() throws {
        let registry = ScriptedUploads(size: 6 * Self.MiB, rules: .init(alwaysStatus: 503))
        let web = ScriptedWeb { registry.respond($0) }
        var options = scriptedOptions(credential: nil)
        options.maxAttempts = 3
        let client = try web.client(options)
        let file = try Self.blob(6 * Self.MiB)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        #expect {
            try client.uploadBlob(SessionTests.ref, file: file.path, digest: file.digest, size: 6 * Self.MiB)
        } throws: { error in
            let text = "\(error)"
            return text.contains("still failing after 3 attempts; the last one got HTTP 503: UNAVAILABLE storage is resting")
                && !text.contains("HTTP 0")
        }
        // Two sessions (the second after the first gave up), three attempts each, two waits each.
        #expect(web.sent.filter { $0.method == "POST" }.count == 2)
        #expect(web.sent.filter { $0.bodyLength > 0 }.count == 6)
        #expect(web.pauses.count == 4)
    }
}
