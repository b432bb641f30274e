import CurlHTTP
import Foundation
import Testing

private struct UploadStop: Error, Equatable {}

private func fetch(_ curl: CurlEasy) throws -> (CurlResponse, String) {
    var body: [UInt8] = []
    let response = try curl.perform { body.append(contentsOf: $0) }
    return (response, String(decoding: body, as: UTF8.self))
}

private func source(_ bytes: [UInt8], chunk: Int = 1000) -> (UnsafeMutableRawBufferPointer) throws -> Int {
    var offset = 0
    return { buffer in
        let n = min(buffer.count, chunk, bytes.count - offset)
        bytes[offset..<offset + n].withUnsafeBytes { buffer.copyMemory(from: $0) }
        offset += n
        return n
    }
}

/// A handle that cannot hang a test run if the local server misbehaves.
private func timedCurl() throws -> CurlEasy {
    let curl = try CurlEasy()
    try curl.setTimeouts(connectMilliseconds: 5_000, totalMilliseconds: 30_000)
    return curl
}

@Suite(.timeLimit(.minutes(1))) struct LocalHTTP {
    @Test func statusHeadersAndBody() throws {
        try withServer { server in
            let curl = try timedCurl()
            try curl.setURL(server.base + "/hello")
            let (response, body) = try fetch(curl)
            #expect(response.statusCode == 200)
            #expect(body == "hello from server\n")
            #expect(response.headerValues("x-test") == ["one", "two"])
            #expect(response.header("CONTENT-TYPE") == "text/plain")
            #expect(response.header("Content-Length") == "18")
            let names = response.headers.map { $0.name.lowercased() }
            #expect(names.firstIndex(of: "x-test")! < names.firstIndex(of: "content-type")!)
            #expect(response.redirectLocation == nil)

            // Same handle, next request: 404 is a response, not an error.
            try curl.setURL(server.base + "/missing")
            let (missing, text) = try fetch(curl)
            #expect(missing.statusCode == 404)
            #expect(text == "not found")
        }
    }

    @Test func redirectsAreNotFollowedByDefault() throws {
        try withServer { server in
            let curl = try timedCurl()
            try curl.setURL(server.base + "/redirect")
            let (response, body) = try fetch(curl)
            #expect(response.statusCode == 307)
            #expect(body.isEmpty)
            #expect(response.header("Location") == "/hello")
            #expect(response.redirectLocation == server.base + "/hello")
            #expect(response.effectiveURL == server.base + "/redirect")

            try curl.setFollowRedirects(true)
            let (followed, text) = try fetch(curl)
            #expect(followed.statusCode == 200)
            #expect(text == "hello from server\n")
            #expect(followed.headerValues("Location").isEmpty, "headers must be those of the final response")
        }
    }

    @Test func requestHeadersAreSent() throws {
        try withServer { server in
            let curl = try timedCurl()
            try curl.setURL(server.base + "/echo-headers")
            try curl.setUserAgent("sifter-test/1")
            try curl.setHeaders([
                CurlHeader(name: "Authorization", value: "Bearer abc"),
                CurlHeader(name: "Accept", value: "application/vnd.oci.image.manifest.v1+json"),
                CurlHeader(name: "X-Empty", value: ""),
            ])
            let (_, echoed) = try fetch(curl)
            let lines = Set(echoed.split(separator: "\n").map(String.init))
            #expect(lines.contains("Authorization: Bearer abc"))
            #expect(lines.contains("Accept: application/vnd.oci.image.manifest.v1+json"))
            #expect(lines.contains("X-Empty: "))
            #expect(lines.contains("User-Agent: sifter-test/1"))
            #expect(!lines.contains { $0.hasPrefix("Expect") || $0.hasPrefix("Accept-Encoding") })

            try curl.setHeaders([])
            let (_, plain) = try fetch(curl)
            #expect(!plain.contains("Authorization"))
        }
    }

    @Test func uploadsWithEachMethod() throws {
        try withServer { server in
            let payload = (0..<250_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            let curl = try timedCurl()
            try curl.setURL(server.base + "/upload")
            for (method, verb) in [(HTTPMethod.put, "PUT"), (.patch, "PATCH"), (.post, "POST")] {
                curl.setMethod(method)
                curl.setRequestBody(size: Int64(payload.count), source: source(payload))
                let (response, body) = try fetch(curl)
                #expect(response.statusCode == 201)
                #expect(body == "\(verb) \(payload.count) \(LocalServer.checksum(payload))")
            }
            curl.clearRequestBody()
            curl.setMethod(.post)
            #expect(try fetch(curl).1 == "POST 0 0")
            // A body after a body-less POST must still be sent.
            curl.setRequestBody(size: 3, source: source([1, 2, 3]))
            #expect(try fetch(curl).1 == "POST 3 6")
            curl.clearRequestBody()
            curl.setMethod(.delete)
            #expect(try fetch(curl).1 == "DELETE 0 0")
            curl.setMethod(.head)
            try curl.setURL(server.base + "/hello")
            let (head, headBody) = try fetch(curl)
            #expect(head.statusCode == 200 && headBody.isEmpty && head.header("Content-Length") == "18")
            curl.setMethod(.get)
            #expect(try fetch(curl).1 == "hello from server\n")
        }
    }

    @Test func throwingUploadSourceIsRethrownAsIs() throws {
        try withServer { server in
            let curl = try timedCurl()
            try curl.setURL(server.base + "/upload")
            curl.setMethod(.put)
            curl.setRequestBody(size: 10) { _ in throw UploadStop() }
            #expect(throws: UploadStop()) { try fetch(curl) }
        }
    }

    @Test func throwingSinkAbortsLargeDownload() throws {
        try withServer { server in
            let curl = try timedCurl()
            try curl.setURL(server.base + "/big")
            var received = 0
            #expect(throws: UploadStop()) {
                _ = try curl.perform { chunk in
                    received += chunk.count
                    if received > 100_000 { throw UploadStop() }
                }
            }
            #expect(received < 8 * 1024 * 1024)
        }
    }

    @Test func rangeRequest() throws {
        try withServer { server in
            let curl = try timedCurl()
            try curl.setURL(server.base + "/range")
            try curl.setRange(start: 250)
            var body: [UInt8] = []
            let response = try curl.perform { body.append(contentsOf: $0) }
            #expect(response.statusCode == 206)
            #expect(body == [250, 251, 252, 253, 254, 255])
            #expect(response.header("Content-Range") == "bytes 250-255/256")
        }
    }

    /// A header above libcurl's limits is reported as such, not as curl's "Out of memory".
    @Test func oversizedHeadersAreNamed() throws {
        try withServer { server in
            let curl = try timedCurl()
            for (path, limit) in [("/huge-header", CurlEasy.maxHeaderLine), ("/many-headers", 300 * 1024)] {
                try curl.setURL(server.base + path)
                #expect {
                    _ = try fetch(curl)
                } throws: { error in
                    guard case let CurlError.headerTooLarge(url, reported, _) = error else { return false }
                    return url == server.base + path && reported == limit
                        && "\(error)".contains("has a header larger than curl's limit (\(limit) bytes)")
                }
            }
        }
    }

    /// A stalled transfer (headers sent, the body never) ends when the abort check says so,
    /// not when a timeout fires; the handle works normally afterwards without the check.
    @Test func anAbortCheckEndsAStalledTransfer() throws {
        try withServer { server in
            let curl = try timedCurl()
            try curl.setURL(server.base + "/slow")
            var calls = 0
            curl.setAbortCheck {
                calls += 1
                return calls >= 2
            }
            #expect {
                _ = try fetch(curl)
            } throws: { error in
                guard case let CurlError.transfer(code, _, _, _) = error else { return false }
                return code == 42  // CURLE_ABORTED_BY_CALLBACK
            }
            #expect(calls >= 2)
            curl.setAbortCheck(nil)
            try curl.setURL(server.base + "/hello")
            #expect(try fetch(curl).0.statusCode == 200)
        }
    }

    /// The option setters change what the handle does, and `reset` undoes them.
    @Test func timeoutsAndOptionsTakeEffectUntilReset() throws {
        try withServer { server in
            let curl = try CurlEasy()
            try curl.setTimeouts(connectMilliseconds: 5_000, totalMilliseconds: 300)
            try curl.setURL(server.base + "/slow")
            #expect {
                _ = try fetch(curl)
            } throws: { error in
                guard case let CurlError.transfer(code, _, _, _) = error else { return false }
                return code == 28  // CURLE_OPERATION_TIMEDOUT: the body never came
            }
            try curl.setHTTPVersion(.http1_1)
            try curl.setVerifyPeer(false)
            try curl.setVerifyHost(false)
            try curl.setCAFile("/etc/ssl/certs/ca-certificates.crt")
            try curl.setLowSpeedLimit(bytesPerSecond: 1, seconds: 30)
            try curl.setUserAgent("before-reset")
            try curl.setFollowRedirects(true)
            try curl.reset()
            // After reset: no redirects followed, no user agent, the URL is set anew.
            try curl.setTimeouts(connectMilliseconds: 5_000, totalMilliseconds: 30_000)
            try curl.setURL(server.base + "/redirect")
            #expect(try fetch(curl).0.statusCode == 307)
            try curl.setURL(server.base + "/echo-headers")
            #expect(!(try fetch(curl).1.contains("before-reset")))
        }
    }
}
