import Foundation

/// A tiny HTTP/1.1 server (Python's http.server) on 127.0.0.1 with a
/// kernel-chosen port, for tests that must not touch the network.
final class LocalServer {
    let process = Process()
    let port: Int
    private let scriptPath: String

    var base: String { "http://127.0.0.1:\(port)" }

    static var python: String? {
        ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    init(python: String) throws {
        scriptPath = FileManager.default.temporaryDirectory.appendingPathComponent("srv-\(UUID().uuidString).py").path
        try Self.script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [scriptPath]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try? FileManager.default.removeItem(atPath: scriptPath)
            throw CocoaError(.fileReadCorruptFile)
        }
        self.port = port
    }

    func stop() {
        // SIGKILL, not terminate(): the child inherits the test runner's
        // signal mask, in which SIGTERM is blocked, so SIGTERM would hang us.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: scriptPath)
    }

    /// Checksum the server reports for uploads; mirrored in `checksum(_:)`.
    static func checksum(_ bytes: [UInt8]) -> Int {
        bytes.reduce(0) { ($0 + Int($1)) % 1_000_003 }
    }

    private static let script = #"""
        import http.server, signal, sys, time
        signal.pthread_sigmask(signal.SIG_SETMASK, [])

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, code, body=b"", headers=()):
                self.send_response(code)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self):
                if self.path == "/hello":
                    self.reply(200, b"hello from server\n",
                               [("X-Test", "one"), ("Content-Type", "text/plain"), ("X-Test", "two")])
                elif self.path == "/redirect":
                    self.reply(307, b"", [("Location", "/hello")])
                elif self.path == "/echo-headers":
                    body = "".join(f"{k}: {v}\n" for k, v in self.headers.items()).encode()
                    self.reply(200, body)
                elif self.path == "/range":
                    data = bytes(range(256))
                    spec = self.headers.get("Range")
                    if spec:
                        start, end = spec.split("=")[1].split("-")
                        s, e = int(start), (int(end) if end else 255)
                        self.reply(206, data[s:e + 1], [("Content-Range", f"bytes {s}-{e}/256")])
                    else:
                        self.reply(200, data)
                elif self.path == "/big":
                    self.reply(200, b"x" * (8 * 1024 * 1024))
                elif self.path == "/huge-header":
                    self.reply(200, b"ok", [("X-Huge", "h" * (1 << 20))])
                elif self.path == "/many-headers":
                    self.reply(200, b"ok", [("X-Many-%d" % i, "m" * 1000) for i in range(400)])
                elif self.path == "/slow":
                    # Headers at once, the body never: only a whole-transfer timeout ends it.
                    self.send_response(200)
                    self.send_header("Content-Length", "10")
                    self.end_headers()
                    self.wfile.flush()
                    time.sleep(60)
                else:
                    self.reply(404, b"not found")

            do_HEAD = do_GET

            def echo(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                checksum = sum(body) % 1000003
                self.reply(201, f"{self.command} {len(body)} {checksum}".encode(), [("Location", "/uploaded")])

            do_PUT = do_POST = do_PATCH = do_DELETE = echo

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#
}

/// Runs `body` with a started server and always stops it; returns silently
/// when python3 is missing, since the other CurlHTTP tests need no server.
func withServer(_ body: (LocalServer) throws -> Void) throws {
    guard let python = LocalServer.python else { return }
    let server = try LocalServer(python: python)
    defer { server.stop() }
    try body(server)
}
