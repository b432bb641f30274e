import Foundation
import Hashing
import Testing

/// Deterministic 3 MiB pattern, larger than two 1 MiB chunks so chunk
/// boundaries are crossed. Expected digests were computed independently with
/// Python's hashlib over the same formula.
private func patternBytes(count: Int = 3 * 1024 * 1024) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
}

private let patternDigest = "sha256:afc1870aca87b6a47c1b53dd68ab77b780493a1a4d67a6cf9fe145dcb3233257"
private let patternSliceDigest = "sha256:7fb850d61b475074b5a493290b39f602a699c1501ac1beb24f2ae779c656fa86"

private func temporaryFile(_ bytes: [UInt8]) throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("hashing-\(UUID().uuidString)").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

@Suite struct KnownVectors {
    @Test func emptyInput() throws {
        let digest = try SHA256.hash([UInt8]())
        #expect(digest.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func abc() throws {
        let digest = try SHA256.hash(Array("abc".utf8))
        #expect(digest.description == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(digest.bytes.count == 32)
        #expect(digest.bytes.first == 0xba)
    }

    @Test func millionAsStreamedInOddChunks() throws {
        var hasher = try SHA256Hasher()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 999)
        var fed = 0
        while fed < 1_000_000 {
            let n = min(chunk.count, 1_000_000 - fed)
            chunk.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            fed += n
        }
        #expect(hasher.finalize().hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func dataAndStringOverloadsAgree() throws {
        var a = try SHA256Hasher()
        a.update(Data("ab".utf8))
        a.update("c")
        #expect(a.finalize() == (try SHA256.hash(Data("abc".utf8))))
    }

    @Test func copiesAreIndependentAndFinalizeIsRepeatable() throws {
        var a = try SHA256Hasher()
        a.update(Array("ab".utf8))
        var b = a
        b.update(Array("c".utf8))
        a.update(Array("x".utf8))
        #expect(b.finalize().hex.hasPrefix("ba7816bf"))
        #expect(a.finalize() == (try SHA256.hash(Array("abx".utf8))))
        #expect(b.finalize() == b.finalize())
        b.update(Array("d".utf8))
        #expect(b.finalize() == (try SHA256.hash(Array("abcd".utf8))))
    }
}

@Suite struct FileHashing {
    @Test func threeMiBFileMatchesKnownValueAndSha256sum() throws {
        let path = try temporaryFile(patternBytes())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let digest = try SHA256.hash(fileAt: path)
        #expect(digest.description == patternDigest)

        // Independent oracle when coreutils is present.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum") {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            process.arguments = [path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let hex = String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init)
            #expect(hex == digest.hex)
        }
    }

    @Test func byteRangeOfDescriptor() throws {
        let bytes = patternBytes()
        let path = try temporaryFile(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }

        let slice = try SHA256.hash(fileDescriptor: fd, offset: 1000, length: 1_500_000)
        #expect(slice.description == patternSliceDigest)
        #expect(slice == (try SHA256.hash(Array(bytes[1000..<1_501_000]))))
        #expect(lseek(fd, 0, SEEK_CUR) == 0, "pread must not move the file position")

        let whole = try SHA256.hash(fileDescriptor: fd, offset: 0, length: Int64(bytes.count))
        #expect(whole.description == patternDigest)
        let empty = try SHA256.hash(fileDescriptor: fd, offset: 5, length: 0)
        #expect(empty.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func rangePastEndOfFileThrows() throws {
        let path = try temporaryFile([1, 2, 3, 4])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(throws: HashingError.unexpectedEndOfFile(expected: 10, actual: 2)) {
            try SHA256.hash(fileDescriptor: fd, offset: 2, length: 10)
        }
        #expect(throws: HashingError.invalidRange(offset: -1, length: 1)) {
            try SHA256.hash(fileDescriptor: fd, offset: -1, length: 1)
        }
    }

    @Test func missingFileReportsErrno() throws {
        do {
            _ = try SHA256.hash(fileAt: "/nonexistent/definitely/not/here")
            Issue.record("expected an error")
        } catch let error as HashingError {
            guard case .io(let op, let path, let code) = error else {
                Issue.record("wrong case \(error)")
                return
            }
            #expect(op == "open")
            #expect(path == "/nonexistent/definitely/not/here")
            #expect(code == ENOENT)
            #expect(error.description.contains("No such file or directory"))
        }
    }

    @Test func badDescriptorReportsErrno() throws {
        #expect(throws: HashingError.io(operation: "pread", path: nil, errno: EBADF)) {
            try SHA256.hash(fileDescriptor: -1, offset: 0, length: 1)
        }
    }
}

@Suite struct DigestParsing {
    let valid = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

    @Test func roundTrip() throws {
        let digest = try SHA256Digest(parsing: valid)
        #expect(digest.description == valid)
        #expect(digest == (try SHA256.hash(Array("abc".utf8))))
        #expect(SHA256Digest(valid) == digest)
        #expect(try SHA256Digest(hex: digest.hex) == digest)
        #expect(try SHA256Digest(bytes: digest.bytes) == digest)
    }

    @Test(arguments: [
        "",
        "sha256:",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0",
        "sha256:ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a\u{e9}",
    ])
    func rejectsMalformed(_ input: String) {
        #expect(throws: HashingError.self) { try SHA256Digest(parsing: input) }
        #expect(SHA256Digest(input) == nil)
    }

    @Test func rejectsWrongByteCount() {
        #expect(throws: HashingError.self) { try SHA256Digest(bytes: [1, 2, 3]) }
    }

    @Test func codableUsesStringForm() throws {
        let digest = try SHA256Digest(parsing: valid)
        let json = try JSONEncoder().encode([digest])
        #expect(String(decoding: json, as: UTF8.self) == "[\"\(valid)\"]")
        #expect(try JSONDecoder().decode([SHA256Digest].self, from: json) == [digest])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([SHA256Digest].self, from: Data("[\"sha256:00\"]".utf8))
        }
    }

    @Test func errorDescriptionIsReadable() {
        let error = HashingError.openssl(operation: "EVP_DigestInit_ex", message: "error:0308010C:unsupported")
        #expect(error.description == "OpenSSL EVP_DigestInit_ex failed: error:0308010C:unsupported")
    }
}
