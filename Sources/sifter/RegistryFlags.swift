import ArgumentParser
import Distribution
import Foundation
import SifterCore

/// Registry connection flags shared by every command that talks to a registry.
struct RegistryFlags: ParsableArguments {
    @Option(name: [.customShort("u"), .long], help: "Registry user name (the password comes from --password-stdin or SIFTER_PASSWORD).")
    var username: String?
    @Flag(help: "Read the registry password from standard input.") var passwordStdin = false
    @Option(help: "Read registry credentials from this Docker-style auth file only (as apptainer and podman --authfile).")
    var authfile: String?
    @Flag(help: "Talk plain HTTP to the registry (like oras --plain-http).") var plainHTTP = false
    @Flag(help: "Accept any TLS certificate.") var insecure = false
    @Option(help: "CA certificates (PEM) to trust for the registry.") var caFile: String?
    @Option(help: "Layers downloaded at once.") var parallel = 4
    @Option(help: "Blob cache directory (default: $SIFTER_CACHE_DIR, else $XDG_CACHE_HOME/sifter, else ~/.cache/sifter).")
    var cacheDir: String?
    @Flag(help: "Log registry requests to stderr (never secrets).") var verbose = false

    /// A client whose explicit and environment credentials (SIFTER_*, APPTAINER_DOCKER_*) go to
    /// `registry` only, so a run that touches two registries never hands one's secret to the other.
    func client(for registry: String) throws -> RegistryClient {
        var sources: [CredentialSource] = []
        if let username {
            let password: String
            if passwordStdin {
                let data = FileHandle.standardInput.readDataToEndOfFile()
                password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
            } else if let fromEnvironment = ProcessInfo.processInfo.environment["SIFTER_PASSWORD"] {
                password = fromEnvironment
            } else {
                throw SifterError.invalidArgument("--username needs --password-stdin or SIFTER_PASSWORD")
            }
            sources.append(.explicit(Credential(username: username, password: password), registries: [registry]))
        } else if passwordStdin {
            throw SifterError.invalidArgument("--password-stdin needs --username")
        }
        // The order of precedence README's Credentials paragraph gives.
        sources += [.environment(registries: [registry]), .apptainerEnvironment(registries: [registry])]
        sources.append(authfile.map { .authFile($0) } ?? .dockerConfig(paths: nil))
        var options = RegistryOptions(
            credentialSources: sources, plainHTTP: plainHTTP, insecure: insecure, caFile: caFile, parallelDownloads: parallel)
        if verbose {
            options.logger = { line in printError(line) }
        }
        options.warningHandler = { text in FileHandle.standardError.write(Data("sifter: warning: \(text)\n".utf8)) }
        return try RegistryClient(options: options)
    }

    func cache() throws -> BlobCache {
        try BlobCache(root: cacheDir ?? BlobCache.defaultRoot())
    }

    /// The digests of SIFs built or pushed, kept in the cache directory.
    func digests() -> FileDigestMemo {
        FileDigestMemo(cacheRoot: cacheDir ?? BlobCache.defaultRoot())
    }
}
