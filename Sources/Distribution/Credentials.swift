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
}
