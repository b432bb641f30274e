import Foundation
@testable import Distribution
import Testing

struct DockerConfigTests {
    static func base64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

    @Test func inlineAuthsMatchByHostNameAndLegacyKeys() throws {
        let json = """
        {"auths": {
          "https://index.docker.io/v1/": {"auth": "\(Self.base64("hubuser:hub:pass"))"},
          "ghcr.io": {"auth": "\(Self.base64("gh:tok"))"},
          "https://quay.io": {"username": "ns+robot", "password": "robotpw"},
          "quay.io/special/repo": {"auth": "\(Self.base64("special:pw"))"},
          "example.com:5000": {"auth": "\(Self.base64("u:pw").replacingOccurrences(of: "=", with: ""))"},
          "id.example": {"identitytoken": "refresh-me"}
        }}
        """
        let config = try DockerConfig.parse(Data(json.utf8), path: "test.json")
        let env: [String: String] = [:]
        let hub = try config.credential(for: "docker.io", repository: "library/alpine", environment: env)
        #expect(hub?.username == "hubuser")
        #expect(hub?.password == "hub:pass")  // only the first colon separates
        #expect(try config.credential(for: "ghcr.io", repository: "o/i", environment: env)?.password == "tok")
        #expect(try config.credential(for: "quay.io", repository: "ns/app", environment: env)?.username == "ns+robot")
        #expect(try config.credential(for: "quay.io", repository: "special/repo", environment: env)?.username == "special")
        #expect(try config.credential(for: "quay.io", repository: "special/repository", environment: env)?.username == "ns+robot")
        #expect(try config.credential(for: "example.com:5000", repository: "x", environment: env)?.password == "pw")  // unpadded base64
        #expect(try config.credential(for: "id.example", repository: "x", environment: env)?.identityToken == "refresh-me")
        #expect(try config.credential(for: "other.io", repository: "x", environment: env) == nil)
    }

    @Test func badFilesFailWithoutQuotingSecrets() throws {
        let bad = #"{"auths": {"r.io": {"auth": "!!!secretvalue!!!"}}}"#
        let config = try DockerConfig.parse(Data(bad.utf8), path: "bad.json")
        do {
            _ = try config.credential(for: "r.io", repository: nil, environment: [:])
            Issue.record("bad base64 accepted")
        } catch {
            #expect(error.description.contains("bad.json"))
            #expect(!error.description.contains("secretvalue"))
        }
        #expect(throws: DistributionError.self) { try DockerConfig.parse(Data("{not json".utf8), path: "x") }
        let typed = #"{"auths": {"r.io": {"auth": 42}}}"#
        do {
            _ = try DockerConfig.parse(Data(typed.utf8), path: "typed.json")
            Issue.record("wrong type accepted")
        } catch {
            #expect(error.description.contains("typed.json"))
        }
    }

    @Test func searchPathOrder() {
        let env = ["HOME": "/h", "REGISTRY_AUTH_FILE": "/a/auth.json", "DOCKER_CONFIG": "/d", "XDG_RUNTIME_DIR": "/run/u"]
        #expect(DockerConfig.searchPaths(environment: env) == [
            "/a/auth.json", "/h/.apptainer/docker-config.json", "/d/config.json", "/run/u/containers/auth.json",
            "/h/.config/containers/auth.json"])
        // What `apptainer registry login` writes comes before docker's file, which is still read.
        #expect(DockerConfig.searchPaths(environment: ["HOME": "/h"]).prefix(2) == ["/h/.apptainer/docker-config.json", "/h/.docker/config.json"])
        #expect(DockerConfig.searchPaths(environment: ["HOME": "/h", "SINGULARITY_CONFIGDIR": "/s"]).first == "/s/docker-config.json")
        #expect(DockerConfig.searchPaths(environment: ["HOME": "/h", "APPTAINER_CONFIGDIR": "/a", "SINGULARITY_CONFIGDIR": "/s"]).first
            == "/a/docker-config.json")
    }

    /// A credential helper script written by the test, found on PATH.
    @Test func credentialHelpersAndStores() throws {
        let dir = try RegistryFixture.temporaryDirectory("helper")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = """
        #!/bin/sh
        [ "$1" = get ] || exit 3
        read -r server
        echo "$server" >> "\(dir)/asked"
        case "$server" in
          helped.io) printf '{"ServerURL":"helped.io","Username":"helper-user","Secret":"helper-secret"}' ;;
          https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"<token>","Secret":"identity"}' "$server" ;;
          broken.io) echo "boom helper-secret" >&2; exit 7 ;;
          *) echo "credentials not found in native keychain"; exit 1 ;;
        esac
        """
        for name in ["docker-credential-test", "docker-credential-store"] {
            try script.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
            chmod(dir + "/" + name, 0o755)
        }
        let json = """
        {"credHelpers": {"helped.io": "test", "broken.io": "test"}, "credsStore": "store",
         "auths": {"inline.io": {"auth": "\(Self.base64("in:line"))"}}}
        """
        let path = dir + "/config.json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        let env = ["PATH": dir + ":/usr/bin:/bin", "HOME": dir]

        let resolver = CredentialResolver(sources: [.dockerConfig(paths: [path])], environment: env)
        let helped = try resolver.credential(for: "helped.io", repository: "x")
        #expect(helped?.0.username == "helper-user")
        #expect(helped?.0.password == "helper-secret")
        // credsStore answers "not found" for inline.io, so the inline entry is used.
        #expect(try resolver.credential(for: "inline.io", repository: "x")?.0.password == "line")
        // Hub goes to the store with the legacy URL; "<token>" means an identity token.
        #expect(try resolver.credential(for: "docker.io", repository: "library/x")?.0.identityToken == "identity")
        #expect(try resolver.credential(for: "none.io", repository: "x") == nil)
        do {
            _ = try resolver.credential(for: "broken.io", repository: "x")
            Issue.record("failing helper accepted")
        } catch {
            #expect(error.description.contains("docker-credential-test"))
            #expect(error.description.contains("status 7"))
            #expect(!error.description.contains("helper-secret"))
        }
        let asked = try String(contentsOfFile: dir + "/asked", encoding: .utf8)
        #expect(asked.contains("https://index.docker.io/v1/"))

        // A missing helper is an error naming it, not a silent anonymous pull.
        let missing = try DockerConfig.parse(Data(#"{"credsStore": "nothere"}"#.utf8), path: "m.json")
        #expect(throws: DistributionError.self) { try missing.credential(for: "x.io", repository: nil, environment: env) }
    }

    /// A helper that never answers (a keyring waiting for a prompt) is killed with its whole
    /// process group after the timeout, and the error names it. Without the timeout this test
    /// hangs until its time limit.
    @Test(.timeLimit(.minutes(1))) func aHelperThatNeverAnswersIsStopped() throws {
        let dir = try RegistryFixture.temporaryDirectory("helper-hang")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = """
        #!/bin/sh
        echo $$ > "\(dir)/helper.pid"
        sleep 1000 &
        echo $! > "\(dir)/child.pid"
        wait
        """
        try script.write(toFile: dir + "/docker-credential-hang", atomically: true, encoding: .utf8)
        chmod(dir + "/docker-credential-hang", 0o755)
        let path = dir + "/config.json"
        try #"{"credHelpers": {"hang.io": "hang"}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let resolver = CredentialResolver(sources: [.dockerConfig(paths: [path])], environment: ["PATH": dir + ":/usr/bin:/bin"],
                                          helperTimeout: 0.5)
        #expect {
            _ = try resolver.credential(for: "hang.io", repository: "x")
        } throws: { error in
            guard case let DistributionError.credentials(source, reason) = error else { return false }
            return source == "docker-credential-hang" && reason.contains("did not answer within 0.5 s")
                && "\(error)".contains("SIFTER_CREDENTIAL_HELPER_TIMEOUT")
        }
        for file in ["helper.pid", "child.pid"] {
            let pid = try String(contentsOfFile: dir + "/" + file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(Self.isGone(pid), "\(file) \(pid) still runs")
        }
    }

    /// Gone, or a zombie waiting for whoever adopted it: either way it runs no more. The
    /// orphaned child may take a moment to be killed after its group was signalled.
    static func isGone(_ pid: String) -> Bool {
        for _ in 0..<200 {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
            if let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "Z" { return true }
            usleep(10_000)
        }
        return false
    }

    @Test func environmentAndExplicitSourcesRespectRegistries() throws {
        let env = ["SIFTER_USERNAME": "envuser", "SIFTER_PASSWORD": "envpass"]
        let explicit = Credential(username: "cli", password: "clipass")
        let resolver = CredentialResolver(
            sources: [.explicit(explicit, registries: ["quay.io"]), .environment(registries: ["ghcr.io"])], environment: env)
        #expect(try resolver.credential(for: "quay.io", repository: nil)?.0.username == "cli")
        #expect(try resolver.credential(for: "ghcr.io", repository: nil)?.0.username == "envuser")
        #expect(try resolver.credential(for: "docker.io", repository: nil) == nil)
        #expect(!"\(explicit)".contains("clipass"))
    }

    @Test func apptainerVariablesComeAfterSifterOnesAndPreferTheApptainerSpelling() throws {
        func resolve(_ env: [String: String], registry: String = "quay.io") throws -> Credential? {
            try CredentialResolver(sources: [.environment(registries: ["quay.io"]), .apptainerEnvironment(registries: ["quay.io"])],
                                   environment: env).credential(for: registry, repository: "ns/app")?.0
        }
        let apptainer = ["APPTAINER_DOCKER_USERNAME": "a-user", "APPTAINER_DOCKER_PASSWORD": "a-pass"]
        let singularity = ["SINGULARITY_DOCKER_USERNAME": "s-user", "SINGULARITY_DOCKER_PASSWORD": "s-pass"]
        #expect(try resolve(apptainer)?.password == "a-pass")
        #expect(try resolve(singularity)?.password == "s-pass")
        #expect(try resolve(apptainer.merging(singularity) { a, _ in a })?.username == "a-user")
        // Each variable falls back on its own, as Apptainer reads them.
        #expect(try resolve(["APPTAINER_DOCKER_USERNAME": "a-user", "SINGULARITY_DOCKER_PASSWORD": "s-pass"])
            == Credential(username: "a-user", password: "s-pass"))
        #expect(try resolve(["APPTAINER_DOCKER_USERNAME": "", "APPTAINER_DOCKER_PASSWORD": ""]) == nil)
        // sifter's own variables win; both kinds stay with the registry they were given for.
        #expect(try resolve(apptainer.merging(["SIFTER_USERNAME": "s", "SIFTER_PASSWORD": "sp"]) { a, _ in a })?.username == "s")
        #expect(try resolve(apptainer, registry: "ghcr.io") == nil)
        // Apptainer's unprefixed spelling is not read (CI systems set it for Docker Hub).
        #expect(try resolve(["DOCKER_USERNAME": "hub", "DOCKER_PASSWORD": "hubpass"]) == nil)
        #expect { try resolve(["APPTAINER_DOCKER_USERNAME": "a-user"]) } throws: { error in
            "\(error)".contains("APPTAINER_DOCKER_USERNAME is set but neither APPTAINER_DOCKER_PASSWORD nor SINGULARITY_DOCKER_PASSWORD is")
        }
        #expect { try resolve(["SINGULARITY_DOCKER_PASSWORD": "secret-value"]) } throws: { error in
            "\(error)".contains("SINGULARITY_DOCKER_PASSWORD is set but") && !"\(error)".contains("secret-value")
        }
    }

    @Test func anAuthFileIsReadAloneAndMustExist() throws {
        let dir = NSTemporaryDirectory() + "sifter-authfile-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/home/.docker", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(#"{"auths":{"quay.io":{"auth":"\#(Self.base64("docker:pw"))"}}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/home/.docker/config.json"))
        try Data(#"{"auths":{"ghcr.io":{"auth":"\#(Self.base64("file:pw"))"}}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/auth.json"))
        let env = ["HOME": dir + "/home"]
        let named = CredentialResolver(sources: [.authFile(dir + "/auth.json")], environment: env)
        #expect(try named.credential(for: "ghcr.io", repository: nil)?.0.username == "file")
        #expect(try named.credential(for: "quay.io", repository: nil) == nil)  // docker's file is not read
        #expect(try CredentialResolver(sources: [.dockerConfig(paths: nil)], environment: env).credential(for: "quay.io", repository: nil)?.0.username
            == "docker")
        #expect { try CredentialResolver(sources: [.authFile(dir + "/missing.json")], environment: env).credential(for: "ghcr.io", repository: nil) }
            throws: { "\($0)" == "credentials from \(dir)/missing.json: the auth file does not exist" }
    }
}
