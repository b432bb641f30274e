import OCISpec
import Testing

struct ReferenceTests {
    static let hex = String(repeating: "ab", count: 32)

    /// input → registry, apiHost, repository, tag, digest, canonical form.
    static let valid: [(String, String, String, String, String?, String?, String)] = [
        ("alpine", "docker.io", "registry-1.docker.io", "library/alpine", "latest", nil, "docker.io/library/alpine:latest"),
        ("docker://alpine:3.20", "docker.io", "registry-1.docker.io", "library/alpine", "3.20", nil, "docker.io/library/alpine:3.20"),
        ("user/app", "docker.io", "registry-1.docker.io", "user/app", "latest", nil, "docker.io/user/app:latest"),
        ("docker.io/alpine", "docker.io", "registry-1.docker.io", "library/alpine", "latest", nil, "docker.io/library/alpine:latest"),
        ("index.docker.io/library/busybox:1", "docker.io", "registry-1.docker.io", "library/busybox", "1", nil, "docker.io/library/busybox:1"),
        ("ghcr.io/org/img:v1.2.3", "ghcr.io", "ghcr.io", "org/img", "v1.2.3", nil, "ghcr.io/org/img:v1.2.3"),
        ("oras://quay.io/ns/tools/sif:2024_01", "quay.io", "quay.io", "ns/tools/sif", "2024_01", nil, "quay.io/ns/tools/sif:2024_01"),
        ("127.0.0.1:5000/x/y", "127.0.0.1:5000", "127.0.0.1:5000", "x/y", "latest", nil, "127.0.0.1:5000/x/y:latest"),
        ("localhost/img", "localhost", "localhost", "img", "latest", nil, "localhost/img:latest"),
        ("localhost:8080/a.b/c__d/e--f:T_1", "localhost:8080", "localhost:8080", "a.b/c__d/e--f", "T_1", nil, "localhost:8080/a.b/c__d/e--f:T_1"),
        ("[::1]:5000/img:1", "[::1]:5000", "[::1]:5000", "img", "1", nil, "[::1]:5000/img:1"),
        ("ghcr.io/o/i@sha256:\(hex)", "ghcr.io", "ghcr.io", "o/i", nil, "sha256:\(hex)", "ghcr.io/o/i@sha256:\(hex)"),
        ("ghcr.io/o/i:t@sha256:\(hex)", "ghcr.io", "ghcr.io", "o/i", "t", "sha256:\(hex)", "ghcr.io/o/i:t@sha256:\(hex)"),
        ("alpine@sha256:\(hex)", "docker.io", "registry-1.docker.io", "library/alpine", nil, "sha256:\(hex)", "docker.io/library/alpine@sha256:\(hex)"),
    ]

    @Test(arguments: valid.indices)
    func parsesValidReferences(_ i: Int) throws {
        let (input, registry, apiHost, repository, tag, digest, canonical) = Self.valid[i]
        let ref = try ImageReference.parse(input)
        #expect(ref.registry == registry, "\(input)")
        #expect(ref.apiHost == apiHost, "\(input)")
        #expect(ref.repository == repository, "\(input)")
        #expect(ref.tag == tag, "\(input)")
        #expect(ref.digest?.description == digest, "\(input)")
        #expect(ref.description == canonical, "\(input)")
        // The canonical form parses back to the same reference.
        #expect(try ImageReference.parse(ref.description) == ref)
        #expect(ref.manifestReference == (digest ?? tag))
    }

    static let invalid: [(String, String)] = [
        ("", "empty"),
        ("docker://", "empty"),
        ("Alpine", "lower-case"),
        ("ghcr.io/Org/img", "lower-case"),
        ("ghcr.io/org/img:", "bad tag"),
        ("ghcr.io/org/img:-x", "bad tag"),
        ("ghcr.io/org/img:\(String(repeating: "t", count: 129))", "bad tag"),
        ("ghcr.io/org//img", "bad repository component"),
        ("ghcr.io/org/img_", "bad repository component"),
        ("ghcr.io/org/.img", "bad repository component"),
        ("ghcr.io/org/a___b", "bad repository component"),
        ("ghcr.io/org/img@sha256:abc", "bad digest"),
        ("ghcr.io/org/img@md5:\(hex)", "bad digest"),
        ("ghcr.io:99999/img", "bad port"),
        ("ghcr.io:/img", "bad port"),
        ("-bad.io/img", "bad registry host"),
        ("ghcr.io/", "missing repository"),
        ("ghcr.io/org/img tag", "white space"),
        ("ghcr.io/" + String(repeating: "a", count: 250), "255"),
    ]

    @Test(arguments: invalid.indices)
    func rejectsMalformedReferences(_ i: Int) {
        let (input, fragment) = Self.invalid[i]
        do {
            let ref = try ImageReference.parse(input)
            Issue.record("\(input) parsed as \(ref)")
        } catch {
            #expect(error.description.contains(fragment), "\(input): \(error)")
            #expect(error.description.contains("invalid image reference"), "\(input): \(error)")
        }
    }

    @Test func derivedReferences() throws {
        let ref = try ImageReference.parse("quay.io/ns/app:1")
        let digest = try Digest(parsing: "sha256:\(Self.hex)")
        #expect(ref.pinned(to: digest).manifestReference == digest.description)
        #expect(try ref.tagged("2").description == "quay.io/ns/app:2")
        #expect(try ref.inRepository("ns/other").name == "quay.io/ns/other")
        #expect(throws: OCISpecError.self) { try ref.tagged("no good") }
    }
}
