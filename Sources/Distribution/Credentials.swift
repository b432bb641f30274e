import Foundation

/// A username and secret for one registry. `description` never shows the secret.
public struct Credential: Sendable, Hashable, CustomStringConvertible {
    public var username: String
    public var password: String
    /// An OAuth2 refresh token (docker config `identitytoken`, or a helper answering with
    /// username `<token>`); exchanged with `grant_type=refresh_token` instead of Basic.
    public var identityToken: String?

    public init(username: String, password: String, identityToken: String? = nil) {
        self.username = username
        self.password = password
        self.identityToken = identityToken
    }

    public var description: String { "Credential(username: \(username), secret: <redacted>)" }

    /// Every string of this credential a log or error must never show.
    var secrets: [String] {
        var out = [password, identityToken ?? ""].filter { $0.count >= 3 }
        let basic = Data("\(username):\(password)".utf8).base64EncodedString()
        out.append(basic)
        return out
    }
}

/// Where credentials for a registry come from. `RegistryOptions.credentialSources` is tried
/// in order; the first source with credentials for the host wins.
public enum CredentialSource: Sendable {
    /// Given by the caller (`-u` + `--password-stdin`). `registries` restricts them to those
    /// hosts (as in references, e.g. `quay.io`); nil sends them to any registry the client
    /// talks to, which is only right when one registry is involved.
    case explicit(Credential, registries: Set<String>?)
    /// `SIFTER_USERNAME` / `SIFTER_PASSWORD` from `environment`, restricted like `.explicit`.
    case environment(registries: Set<String>?)
    /// Apptainer's variables: `APPTAINER_DOCKER_USERNAME` and `APPTAINER_DOCKER_PASSWORD`, each
    /// falling back to its `SINGULARITY_DOCKER_*` spelling as Apptainer reads them
    /// (apptainer/apptainer cmd/internal/cli/apptainer.go `dockerUsernameFlag`, pkg/cmdline/flag.go
    /// `updateCmdFlagFromEnv`: the `APPTAINER_` prefix first). Restricted like `.explicit`.
    /// Apptainer's unprefixed `DOCKER_USERNAME`/`DOCKER_PASSWORD` are not read: CI systems set
    /// them for Docker Hub, and sifter would hand them to whatever registry it pushes to.
    case apptainerEnvironment(registries: Set<String>?)
    /// One auth file the user named (`--authfile`, as apptainer and podman have it): only this
    /// file is read, and it must exist.
    case authFile(String)
    /// Docker-style auth files: `DockerConfig.searchPaths(environment:)` when `paths` is nil.
    case dockerConfig(paths: [String]?)
}

/// Looks up credentials for a host through the configured sources.
struct CredentialResolver: Sendable {
    let sources: [CredentialSource]
    let environment: [String: String]
    /// Seconds a credential helper may take (`RegistryOptions.credentialHelperTimeout`).
    var helperTimeout: Double = 30

    /// `registry` is the host as in the reference (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).
    func credential(for registry: String, repository: String?) throws(DistributionError) -> (Credential, source: String)? {
        for source in sources {
            switch source {
            case let .explicit(credential, registries):
                if registries == nil || registries!.contains(registry) { return (credential, "the command line") }
            case let .environment(registries):
                guard registries == nil || registries!.contains(registry) else { continue }
                if let user = environment["SIFTER_USERNAME"], let password = environment["SIFTER_PASSWORD"], !user.isEmpty {
                    return (Credential(username: user, password: password), "SIFTER_USERNAME/SIFTER_PASSWORD")
                }
            case let .apptainerEnvironment(registries):
                guard registries == nil || registries!.contains(registry) else { continue }
                if let found = try apptainerCredential() { return (found, "APPTAINER_DOCKER_USERNAME/APPTAINER_DOCKER_PASSWORD") }
            case let .authFile(path):
                guard FileManager.default.fileExists(atPath: path) else {
                    throw .credentials(source: path, reason: "the auth file does not exist")
                }
                if let found = try DockerConfig.load(path: path).credential(
                    for: registry, repository: repository, environment: environment, helperTimeout: helperTimeout)
                {
                    return (found, path)
                }
            case let .dockerConfig(paths):
                for path in paths ?? DockerConfig.searchPaths(environment: environment) {
                    guard FileManager.default.fileExists(atPath: path) else { continue }
                    let config = try DockerConfig.load(path: path)
                    if let found = try config.credential(for: registry, repository: repository, environment: environment,
                                                             helperTimeout: helperTimeout) {
                        return (found, path)
                    }
                }
            }
        }
        return nil
    }

    /// Each of the pair from `APPTAINER_DOCKER_*`, else `SINGULARITY_DOCKER_*` (an empty value
    /// counts as unset). One without the other is an error rather than a silent anonymous run.
    private func apptainerCredential() throws(DistributionError) -> Credential? {
        func value(_ key: String) -> (name: String, value: String)? {
            for prefix in ["APPTAINER_", "SINGULARITY_"] {
                if let text = environment[prefix + key], !text.isEmpty { return (prefix + key, text) }
            }
            return nil
        }
        let username = value("DOCKER_USERNAME")
        let password = value("DOCKER_PASSWORD")
        switch (username, password) {
        case (nil, nil):
            return nil
        case let (username?, password?):
            return Credential(username: username.value, password: password.value)
        case let (username?, nil):
            throw .credentials(source: username.name, reason: "\(username.name) is set but neither APPTAINER_DOCKER_PASSWORD nor SINGULARITY_DOCKER_PASSWORD is")
        case let (nil, password?):
            throw .credentials(source: password.name, reason: "\(password.name) is set but neither APPTAINER_DOCKER_USERNAME nor SINGULARITY_DOCKER_USERNAME is")
        }
    }
}
