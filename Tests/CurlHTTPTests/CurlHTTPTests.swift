import CurlHTTP
import Foundation
import Testing

private struct SinkStop: Error, Equatable {}

private func tempFile(_ bytes: [UInt8]) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("curl-\(UUID().uuidString)").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

/// Performs a request collecting the (small) body, for assertions only.
private func fetch(_ curl: CurlEasy) throws -> (CurlResponse, [UInt8]) {
    var body: [UInt8] = []
    let response = try curl.perform { body.append(contentsOf: $0) }
    return (response, body)
}

/// An upload source over an in-memory array that hands out at most `chunk` bytes per call.
private func source(_ bytes: [UInt8], chunk: Int = 1000) -> (UnsafeMutableRawBufferPointer) throws -> Int {
    var offset = 0
    return { buffer in
        let n = min(buffer.count, chunk, bytes.count - offset)
        bytes[offset..<offset + n].withUnsafeBytes { buffer.copyMemory(from: $0) }
        offset += n
        return n
    }
}

@Suite struct FileURLs {
    @Test func getStreamsFileIntoSink() throws {
        let content = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let path = try tempFile(content)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let curl = try CurlEasy()
        try curl.setAllowedProtocols(["file"])
        try curl.setURL("file://" + path)
        var received: [UInt8] = []
        var calls = 0
        let response = try curl.perform { chunk in
            calls += 1
            received.append(contentsOf: chunk)
        }
        #expect(received == content)
        #expect(calls > 1, "body must arrive in pieces, not buffered whole")
        #expect(response.bodyBytes == Int64(content.count))
        #expect(response.statusCode == 0)
        #expect(response.effectiveURL == "file://" + path)
    }

    @Test func rangeOfFile() throws {
        let path = try tempFile(Array(0..<100))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let curl = try CurlEasy()
        try curl.setAllowedProtocols(["file"])
        try curl.setURL("file://" + path)
        try curl.setRange(start: 10, end: 14)
        #expect(try fetch(curl).1 == [10, 11, 12, 13, 14])
    }

    @Test func missingFileCarriesCurlMessage() throws {
        let curl = try CurlEasy()
        try curl.setAllowedProtocols(["file"])
        try curl.setURL("file:///nonexistent/sifter/blob")
        do {
            _ = try fetch(curl)
            Issue.record("expected failure")
        } catch let error as CurlError {
            guard case let .transfer(code, message, detail, url) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(code == 37)  // CURLE_FILE_COULDNT_READ_FILE
            #expect(message == "Couldn't read a file:// file")
            #expect(detail.contains("/nonexistent/sifter/blob"), "\(detail)")
            #expect(url == "file:///nonexistent/sifter/blob")
            #expect(error.description.contains(message))
        }
    }

    @Test func fileSchemeIsRefusedByDefault() throws {
        let curl = try CurlEasy()
        try curl.setURL("file:///etc/hostname")
        #expect {
            _ = try fetch(curl)
        } throws: { error in
            guard case CurlError.transfer(let code, _, _, _) = error else { return false }
            return code == 1  // CURLE_UNSUPPORTED_PROTOCOL
        }
    }

    @Test func throwingSinkAbortsAndIsRethrownAsIs() throws {
        let path = try tempFile([UInt8](repeating: 7, count: 2_000_000))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let curl = try CurlEasy()
        try curl.setAllowedProtocols(["file"])
        try curl.setURL("file://" + path)
        var calls = 0
        #expect(throws: SinkStop()) {
            _ = try curl.perform { _ in
                calls += 1
                throw SinkStop()
            }
        }
        #expect(calls == 1)
        // The handle stays usable afterwards.
        #expect(try fetch(curl).1.count == 2_000_000)
    }
}

@Suite struct Redaction {
    @Test func hidesUserinfo() {
        #expect(URLRedaction.redact("https://user:p%40ss@registry.example/v2/") == "https://REDACTED@registry.example/v2/")
        #expect(URLRedaction.redact("https://a:b@c@host:443/x") == "https://REDACTED@host:443/x")
        #expect(URLRedaction.redact("https://host/path@not-userinfo") == "https://host/path@not-userinfo")
    }

    @Test func hidesSecretQueryValuesKeepsHarmlessOnes() {
        let url = "https://cdn.example/blob?X-Amz-Algorithm=AWS4&X-Amz-Signature=deadbeef&token=abc123&n=50&sig=zz"
        #expect(
            URLRedaction.redact(url)
                == "https://cdn.example/blob?X-Amz-Algorithm=AWS4&X-Amz-Signature=REDACTED&token=REDACTED&n=50&sig=REDACTED"
        )
        #expect(URLRedaction.redact("https://h/p?access_token=s3cr3t#frag") == "https://h/p?access_token=REDACTED#REDACTED")
        #expect(URLRedaction.redact("https://h/p?bare-secret&digest=sha256:ab") == "https://h/p?REDACTED&digest=sha256:ab")
        #expect(URLRedaction.redact("https://h/v2/x/blobs/uploads/") == "https://h/v2/x/blobs/uploads/")
    }

    @Test func transferErrorsNeverShowCredentials() throws {
        let curl = try CurlEasy()
        try curl.setTimeouts(connectMilliseconds: 2000, totalMilliseconds: 5000)
        // Port 1 on loopback is closed, so this fails fast without network.
        try curl.setURL("http://alice:hunter2@127.0.0.1:1/v2/?token=s3cr3t")
        try curl.setHeaders([CurlHeader(name: "Authorization", value: "Bearer topsecret")])
        do {
            _ = try fetch(curl)
            Issue.record("expected failure")
        } catch {
            let text = "\(error)"
            #expect(text.contains("REDACTED"))
            for secret in ["hunter2", "alice", "s3cr3t", "topsecret", "Authorization"] {
                #expect(!text.contains(secret), "leaked \(secret): \(text)")
            }
        }
    }

    @Test func invalidHeaderErrorOmitsValue() throws {
        let curl = try CurlEasy()
        #expect(throws: CurlError.invalidHeader(name: "Authorization", reason: "value contains a line break")) {
            try curl.setHeaders([CurlHeader(name: "Authorization", value: "Bearer x\r\nX-Evil: 1")])
        }
        #expect(!"\(CurlError.invalidHeader(name: "A", reason: "r"))".contains("Bearer"))
    }
}
