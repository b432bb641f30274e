import Foundation
@testable import Distribution
import Testing

struct RedactionTests {
    @Test func scrubberMasksEveryKnownSecret() {
        let scrubber = SecretScrubber()
        let credential = Credential(username: "robot", password: "hunter2-long")
        credential.secrets.forEach(scrubber.add)
        scrubber.add("eyJhbGciOiJSUzI1NiJ9.token")
        scrubber.add("abc")  // too short to be a credential: ignored, so normal text survives
        let basic = Data("robot:hunter2-long".utf8).base64EncodedString()
        let text = "pw=hunter2-long auth=Basic \(basic) bearer eyJhbGciOiJSUzI1NiJ9.token abc"
        let scrubbed = scrubber.scrub(text)
        #expect(!scrubbed.contains("hunter2-long"))
        #expect(!scrubbed.contains(basic))
        #expect(!scrubbed.contains("eyJhbGciOiJSUzI1NiJ9"))
        #expect(scrubbed.hasSuffix("abc"))
        #expect(!credential.description.contains("hunter2"))
    }

    @Test func clientScrubsExplicitCredentialsAndErrorsCarryNoSecrets() throws {
        let options = RegistryOptions(
            credentialSources: [.explicit(Credential(username: "u", password: "super-secret-pw"), registries: nil)], environment: [:])
        let client = try RegistryClient(options: options)
        #expect(client.scrub("echo super-secret-pw") == "echo <redacted>")
        let errors = [
            DistributionError.unauthorized(registry: "quay.io", repository: "ns/app", operation: "PUT manifest v1",
                                           errors: [RegistryErrorEntry(code: "UNAUTHORIZED", message: "access to the requested resource is not authorized")]),
            .denied(registry: "ghcr.io", repository: "o/i", operation: "start upload", errors: []),
            .credentials(source: "docker-credential-pass", reason: "exited with status 1"),
        ]
        let texts = errors.map(\.description)
        #expect(texts[0].hasPrefix("quay.io/ns/app: PUT manifest v1: authentication required"))
        #expect(texts[0].contains("UNAUTHORIZED access to the requested resource is not authorized"))
        #expect(texts[1].contains("ghcr.io/o/i"))
        #expect(texts.allSatisfy { !$0.contains("super-secret-pw") })
    }

    @Test func registryErrorBodiesAreReadDefensively() {
        #expect(RegistryErrorEntry.parse(Array(#"{"errors":[{"code":"DENIED","message":"no","detail":{}}]}"#.utf8)).map(\.description) == ["DENIED no"])
        #expect(RegistryErrorEntry.parse(Array("<html>429 Too Many Requests</html>".utf8)).isEmpty)
        #expect(RegistryErrorEntry.parse(Array(#"{"errors":[{"message":"no code"}]}"#.utf8)).first?.code == "UNKNOWN")
        let long = String(repeating: "x", count: 5000)
        #expect(RegistryErrorEntry.parse(Array(#"{"errors":[{"code":"C","message":"\#(long)"}]}"#.utf8)).first?.message?.count == 300)
    }

    @Test func optionsAreValidated() {
        var options = RegistryOptions(environment: [:])
        options.parallelDownloads = 0
        #expect(throws: DistributionError.self) { try RegistryClient(options: options) }
        options.parallelDownloads = 4
        options.caFile = "/nonexistent/ca.pem"
        #expect(throws: DistributionError.self) { try RegistryClient(options: options) }
    }

    @Test func warningsAreShownOnceEach() throws {
        let seen = Locked<[String]>([])
        var options = RegistryOptions(environment: [:])
        options.warningHandler = { text in seen.withLock { $0.append(text) } }
        let client = try RegistryClient(options: options)
        client.noteWarnings([#"299 - "this API is deprecated""#, #"299 - "this API is deprecated""#, #"199 - "misc""#, "garbage"])
        client.noteWarnings([#"299 - "quota at 90%""#])
        #expect(seen.withLock { $0 } == ["this API is deprecated", "quota at 90%"])
    }
}
