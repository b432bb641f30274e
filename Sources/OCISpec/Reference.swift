/// An image reference as users write it: `ghcr.io/org/img:tag`, `…@sha256:…`,
/// `127.0.0.1:5000/x/y`, or a Docker Hub short name (`alpine` is `docker.io/library/alpine:latest`),
/// optionally prefixed with `docker://` or `oras://`.
///
/// The grammar is the one of distribution's `reference` package (what docker, skopeo and oras
/// accept), so a string that works there parses the same here.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible {
    /// Registry host as written, with `:port` if given. Docker Hub aliases
    /// (`index.docker.io`, `registry-1.docker.io`) are normalised to `docker.io`.
    public let registry: String
    /// Repository path inside the registry, e.g. `library/alpine`, `org/tools/img`.
    public let repository: String
    /// The tag; `latest` when neither a tag nor a digest was written.
    public let tag: String?
    /// The digest, when pinned. Wins over the tag when fetching.
    public let digest: Digest?

    /// The registry whose `/v2/` API serves Hub images: `docker.io` itself does not.
    public static let dockerHub = "docker.io"
    public static let dockerHubAPIHost = "registry-1.docker.io"

    /// Creates a validated reference. `tag` and `digest` may both be set (`name:tag@digest`).
    public init(registry: String, repository: String, tag: String? = nil, digest: Digest? = nil) throws(OCISpecError) {
        let whole = registry + "/" + repository
        let normalised = Self.normaliseRegistry(registry)
        try Self.validateRegistry(normalised, whole: whole)
        try Self.validateRepository(repository, whole: whole)
        if let tag { try Self.validateTag(tag, whole: whole) }
        guard normalised.utf8.count + 1 + repository.utf8.count <= 255 else {
            throw .invalidReference(whole, reason: "registry and repository together exceed 255 characters")
        }
        self.registry = normalised
        self.repository = repository
        self.digest = digest
        self.tag = tag ?? (digest == nil ? "latest" : nil)
    }

    /// Parses a reference. Accepts an optional `docker://` or `oras://` prefix; a first path
    /// component counts as the registry only if it contains `.` or `:` or is `localhost`
    /// (otherwise the name is on Docker Hub, where one-component names live under `library/`).
    public static func parse(_ input: String) throws(OCISpecError) -> ImageReference {
        var text = Substring(input)
        for prefix in ["docker://", "oras://"] where text.hasPrefix(prefix) {
            text = text.dropFirst(prefix.count)
        }
        guard !text.isEmpty else { throw .invalidReference(input, reason: "empty reference") }
        guard !text.contains(where: { $0.isWhitespace }) else {
            throw .invalidReference(input, reason: "contains white space")
        }

        var digest: Digest?
        if let at = text.firstIndex(of: "@") {
            let digestText = String(text[text.index(after: at)...])
            do {
                digest = try Digest(parsing: digestText)
            } catch {
                throw .invalidReference(input, reason: "bad digest \"\(digestText)\" (expected sha256:<64 lower-case hex>)")
            }
            text = text[..<at]
        }

        var registry = dockerHub
        var remainder = text
        if let slash = text.firstIndex(of: "/") {
            let first = text[..<slash]
            // The rule distribution uses: a host has a dot or a port, or is localhost; an
            // upper-case first component cannot be a repository, so it must be a host.
            if first.contains(".") || first.contains(":") || first == "localhost" || first.lowercased() != first {
                registry = String(first)
                remainder = text[text.index(after: slash)...]
            }
        }

        var tag: String?
        let lastSlash = remainder.lastIndex(of: "/") ?? remainder.startIndex
        if let colon = remainder[lastSlash...].lastIndex(of: ":") {
            tag = String(remainder[remainder.index(after: colon)...])
            remainder = remainder[..<colon]
        }
        var repository = String(remainder)
        guard !repository.isEmpty else { throw .invalidReference(input, reason: "missing repository name") }
        if normaliseRegistry(registry) == dockerHub, !repository.contains("/") {
            repository = "library/" + repository
        }
        if repository.lowercased() != repository {
            throw .invalidReference(input, reason: "repository name must be lower-case")
        }
        do {
            return try ImageReference(registry: registry, repository: repository, tag: tag, digest: digest)
        } catch let OCISpecError.invalidReference(_, reason) {
            throw .invalidReference(input, reason: reason)
        }
    }

    /// The host serving the `/v2/` API (`registry-1.docker.io` for Docker Hub).
    public var apiHost: String { registry == Self.dockerHub ? Self.dockerHubAPIHost : registry }

    /// What goes after `/manifests/`: the digest when pinned, else the tag.
    public var manifestReference: String { digest?.description ?? tag ?? "latest" }

    /// `registry/repository`, without tag or digest.
    public var name: String { registry + "/" + repository }

    /// The canonical form: `registry/repository[:tag][@digest]`.
    public var description: String {
        var text = name
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest.description }
        return text
    }

    /// The same repository pinned to `digest` (the tag is kept for display).
    public func pinned(to digest: Digest) -> ImageReference {
        ImageReference(unchecked: registry, repository, tag, digest)
    }

    /// The same repository with another tag and no digest.
    public func tagged(_ tag: String) throws(OCISpecError) -> ImageReference {
        try ImageReference(registry: registry, repository: repository, tag: tag, digest: nil)
    }

    /// Another repository on the same registry (for cross-repository mounts).
    public func inRepository(_ repository: String) throws(OCISpecError) -> ImageReference {
        try ImageReference(registry: registry, repository: repository, tag: tag, digest: digest)
    }

    private init(unchecked registry: String, _ repository: String, _ tag: String?, _ digest: Digest?) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    // MARK: Grammar

    static func normaliseRegistry(_ host: String) -> String {
        switch host {
        case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": return dockerHub
        default: return host
        }
    }

    /// `host[:port]` where host is DNS labels or a bracketed IPv6 address.
    static func validateRegistry(_ registry: String, whole: String) throws(OCISpecError) {
        var host = Substring(registry)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else {
                throw .invalidReference(whole, reason: "unterminated IPv6 address in registry \"\(registry)\"")
            }
            let address = host[host.index(after: host.startIndex)..<close]
            guard !address.isEmpty, address.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw .invalidReference(whole, reason: "bad IPv6 address in registry \"\(registry)\"")
            }
            host = host[host.index(after: close)...]
            if !host.isEmpty {
                guard host.hasPrefix(":") else { throw .invalidReference(whole, reason: "bad registry \"\(registry)\"") }
                try validatePort(host.dropFirst(), registry: registry, whole: whole)
            }
            return
        }
        if let colon = host.firstIndex(of: ":") {
            try validatePort(host[host.index(after: colon)...], registry: registry, whole: whole)
            host = host[..<colon]
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard let first = label.first, let last = label.last, first.isASCIIAlphanumeric, last.isASCIIAlphanumeric,
                label.allSatisfy({ $0.isASCIIAlphanumeric || $0 == "-" })
            else {
                throw .invalidReference(whole, reason: "bad registry host \"\(registry)\"")
            }
        }
    }

    static func validatePort(_ port: Substring, registry: String, whole: String) throws(OCISpecError) {
        guard !port.isEmpty, port.count <= 5, port.allSatisfy(\.isASCIIDigit), let value = Int(port), (1...65535).contains(value)
        else {
            throw .invalidReference(whole, reason: "bad port in registry \"\(registry)\"")
        }
    }

    /// Path components `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` joined by `/`.
    static func validateRepository(_ repository: String, whole: String) throws(OCISpecError) {
        for component in repository.split(separator: "/", omittingEmptySubsequences: false) {
            guard isPathComponent(component) else {
                throw .invalidReference(
                    whole,
                    reason: "bad repository component \"\(component)\" (lower-case letters and digits, separated by '.', '_', '__' or dashes)")
            }
        }
    }

    static func isPathComponent(_ component: Substring) -> Bool {
        let bytes = Array(component.utf8)
        func alnum(_ b: UInt8) -> Bool { (0x61...0x7a).contains(b) || (0x30...0x39).contains(b) }
        guard let first = bytes.first, let last = bytes.last, alnum(first), alnum(last) else { return false }
        var i = 0
        while i < bytes.count {
            if alnum(bytes[i]) { i += 1; continue }
            // A separator run: ".", "_", "__" or one or more "-".
            let start = i
            while i < bytes.count, !alnum(bytes[i]) { i += 1 }
            let run = bytes[start..<i]
            let ok = run.elementsEqual([0x2e]) || run.elementsEqual([0x5f]) || run.elementsEqual([0x5f, 0x5f])
                || run.allSatisfy { $0 == 0x2d }
            if !ok { return false }
        }
        return true
    }

    /// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
    static func validateTag(_ tag: String, whole: String) throws(OCISpecError) {
        let bytes = Array(tag.utf8)
        func word(_ b: UInt8) -> Bool {
            (0x61...0x7a).contains(b) || (0x41...0x5a).contains(b) || (0x30...0x39).contains(b) || b == 0x5f
        }
        guard let first = bytes.first, word(first), bytes.count <= 128,
            bytes.allSatisfy({ word($0) || $0 == 0x2e || $0 == 0x2d })
        else {
            throw .invalidReference(whole, reason: "bad tag \"\(tag)\" (up to 128 of A-Z a-z 0-9 _ . -, not starting with . or -)")
        }
    }
}

extension Character {
    fileprivate var isASCIIAlphanumeric: Bool { isASCII && (isLetter || isNumber) }
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
