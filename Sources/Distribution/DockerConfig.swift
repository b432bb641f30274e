import Foundation

/// A Docker `config.json` (or containers `auth.json`): inline `auths`, a default `credsStore`
/// and per-host `credHelpers`. Lookup order is docker's: `credHelpers[host]`, then `credsStore`,
/// then inline `auths`.
public struct DockerConfig: Sendable {
    public struct AuthEntry: Sendable, Decodable {
        public var auth: String?
        public var username: String?
        public var password: String?
        public var identitytoken: String?
    }

    /// Keys as written in the file (`ghcr.io`, `https://index.docker.io/v1/`, `quay.io/org`).
    public var auths: [String: AuthEntry]
    public var credsStore: String?
    public var credHelpers: [String: String]
    /// Where the file was read from, for messages.
    public var path: String

    private struct File: Decodable {
        var auths: [String: AuthEntry]?
        var credsStore: String?
        var credHelpers: [String: String]?
    }

    /// The key docker uses for Docker Hub in `auths` and as a helper's server URL.
    public static let dockerHubKey = "https://index.docker.io/v1/"

    /// Files searched, in order (the first with credentials for the registry wins):
    /// `$REGISTRY_AUTH_FILE` (the `--authfile` default of skopeo and podman, so an explicit
    /// choice wins); Apptainer's `docker-config.json`, which `apptainer registry login` writes
    /// (`$APPTAINER_CONFIGDIR`, else `$SINGULARITY_CONFIGDIR`, else `~/.apptainer`:
    /// apptainer/apptainer pkg/syfs/syfs.go `SearchDockerConf`; Apptainer reads docker's file
    /// only when its own is missing, sifter goes on to it, so both logins work);
    /// `$DOCKER_CONFIG/config.json` else `~/.docker/config.json`; then containers'
    /// `$XDG_RUNTIME_DIR/containers/auth.json` and `~/.config/containers/auth.json`.
    public static func searchPaths(environment: [String: String]) -> [String] {
        var paths: [String] = []
        if let file = environment["REGISTRY_AUTH_FILE"], !file.isEmpty { paths.append(file) }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let apptainerDir = [environment["APPTAINER_CONFIGDIR"], environment["SINGULARITY_CONFIGDIR"]]
            .compactMap { $0 }.first { !$0.isEmpty } ?? home + "/.apptainer"
        paths.append(apptainerDir + "/docker-config.json")
        if let dir = environment["DOCKER_CONFIG"], !dir.isEmpty {
            paths.append(dir + "/config.json")
        } else {
            paths.append(home + "/.docker/config.json")
        }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            paths.append(runtime + "/containers/auth.json")
        }
        paths.append((environment["XDG_CONFIG_HOME"] ?? home + "/.config") + "/containers/auth.json")
        return paths
    }

    public init(auths: [String: AuthEntry] = [:], credsStore: String? = nil, credHelpers: [String: String] = [:], path: String = "") {
        self.auths = auths
        self.credsStore = credsStore
        self.credHelpers = credHelpers
        self.path = path
    }

    /// Reads and parses a config file. Errors name the file, never its content.
    public static func load(path: String) throws(DistributionError) -> DockerConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .credentials(source: path, reason: "cannot read the file")
        }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String) throws(DistributionError) -> DockerConfig {
        do {
            let file = try JSONDecoder().decode(File.self, from: data)
            return DockerConfig(
                auths: file.auths ?? [:], credsStore: file.credsStore.flatMap { $0.isEmpty ? nil : $0 },
                credHelpers: file.credHelpers ?? [:], path: path)
        } catch {
            // The decoder's message may quote values; say only where it broke.
            throw .credentials(source: path, reason: "not a valid docker config.json (\(Self.shape(of: error)))")
        }
    }

    private static func shape(of error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return "malformed JSON" }
        switch decoding {
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .keyNotFound(_, context),
            let .dataCorrupted(context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "malformed JSON" : "unexpected value at \(path)"
        @unknown default:
            return "malformed JSON"
        }
    }

    /// Credentials for `registry` (as in a reference). Helpers run as
    /// `docker-credential-NAME get`, found on `PATH` of `environment`; one that has not
    /// answered after `helperTimeout` seconds is killed with its process group.
    public func credential(for registry: String, repository: String?, environment: [String: String],
                           helperTimeout: Double = 30) throws(DistributionError) -> Credential?
    {
        let host = Self.normaliseKey(registry)
        if let helper = credHelpers.first(where: { Self.normaliseKey($0.key) == host })?.value {
            return try CredentialHelper(name: helper, environment: environment, timeout: helperTimeout)
                .get(serverURL: Self.serverURL(for: registry))
        }
        if let store = credsStore,
            let found = try CredentialHelper(name: store, environment: environment, timeout: helperTimeout)
                .get(serverURL: Self.serverURL(for: registry))
        {
            return found
        }
        guard let entry = bestAuthEntry(host: host, repository: repository) else { return nil }
        return try decode(entry)
    }

    /// The longest key matching `host` or a `host/namespace…` prefix of the repository
    /// (containers-auth.json allows per-repository keys).
    func bestAuthEntry(host: String, repository: String?) -> AuthEntry? {
        let full = repository.map { host + "/" + $0 } ?? host
        var best: (length: Int, entry: AuthEntry)?
        for (key, entry) in auths {
            let normalised = Self.normaliseKey(key)
            guard normalised == host || (normalised.hasPrefix(host + "/") && (full == normalised || full.hasPrefix(normalised + "/")))
            else { continue }
            if best == nil || normalised.count > best!.length { best = (normalised.count, entry) }
        }
        return best?.entry
    }

    private func decode(_ entry: AuthEntry) throws(DistributionError) -> Credential? {
        var username = entry.username ?? ""
        var password = entry.password ?? ""
        if let auth = entry.auth, !auth.isEmpty {
            guard let data = Data(base64Encoded: Self.padded(auth)), let text = String(data: data, encoding: .utf8),
                let colon = text.firstIndex(of: ":")
            else {
                throw .credentials(source: path, reason: "an \"auth\" value is not base64 of user:password")
            }
            username = String(text[..<colon])
            password = String(text[text.index(after: colon)...])
        }
        if let token = entry.identitytoken, !token.isEmpty {
            return Credential(username: username, password: password, identityToken: token)
        }
        guard !username.isEmpty || !password.isEmpty else { return nil }
        return Credential(username: username, password: password)
    }

    private static func padded(_ base64: String) -> String {
        let trimmed = base64.trimmingCharacters(in: .whitespacesAndNewlines)
        let remainder = trimmed.count % 4
        return remainder == 0 ? trimmed : trimmed + String(repeating: "=", count: 4 - remainder)
    }

    /// `https://Host:5000/v1/` → `host:5000`; Docker Hub aliases → `docker.io`; a path after the
    /// host is kept (minus `/v1`, `/v2`) for per-repository keys.
    static func normaliseKey(_ key: String) -> String {
        var text = Substring(key.trimmingCharacters(in: .whitespaces))
        for scheme in ["https://", "http://"] where text.lowercased().hasPrefix(scheme) {
            text = text.dropFirst(scheme.count)
        }
        while text.hasSuffix("/") { text = text.dropLast() }
        var parts = text.split(separator: "/").map(String.init)
        guard !parts.isEmpty else { return "" }
        parts[0] = parts[0].lowercased()
        if parts.count > 1, parts[1] == "v1" || parts[1] == "v2" { parts.removeSubrange(1...) }
        switch parts[0] {
        case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": parts[0] = "docker.io"
        default: break
        }
        return parts.joined(separator: "/")
    }

    /// What docker passes to a helper: the legacy URL for Hub, the bare host otherwise.
    static func serverURL(for registry: String) -> String {
        normaliseKey(registry) == "docker.io" ? dockerHubKey : registry
    }
}
