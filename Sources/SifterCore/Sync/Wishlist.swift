import Foundation
import OCISpec

/// What `sifter sync` keeps converted: a YAML file of images, each with where its SIFs go.
///
/// ```yaml
/// defaults:                         # optional; every key may also be set per image
///   destination: /srv/sif           # a directory, or oras://REGISTRY/NAMESPACE/ (…/NAME added)
///   platforms: [linux/amd64]        # default: this machine's
/// images:
///   - docker://docker.io/library/alpine:3.20
///   - source: docker://ghcr.io/org/tool          # a repository: its tags are listed
///     versions: ">=2.1.0 <3"
///     newest: 2
///     destination: oras://quay.io/org/tool       # a repository (no trailing slash)
///     platforms: [linux/amd64, linux/arm64]
/// ```
public struct Wishlist: Sendable {
    public var path: String
    public var entries: [Entry]

    public init(path: String, entries: [Entry]) {
        self.path = path
        self.entries = entries
    }

    public struct Entry: Sendable {
        /// `FILE:LINE` of the entry, for messages and the report.
        public var place: String
        /// As for `build`: `docker://REF`, `oci:DIR[:TAG]`, … (local paths made absolute).
        public var source: String
        /// Set when the source names a repository whose tags are to be listed.
        public var selection: TagSelection?
        public var destination: Destination
        public var platforms: [Platform]
        public var compression: String
        public var blockSize: Int?
        /// The SIF's name in a directory, or the repository's last component under a namespace.
        public var name: String?
        /// The destination tag for a registry destination (default: the source's tag).
        public var tag: String?

        public init(place: String, source: String, selection: TagSelection? = nil, destination: Destination, platforms: [Platform],
                    compression: String = "gzip", blockSize: Int? = nil, name: String? = nil, tag: String? = nil) {
            self.place = place
            self.source = source
            self.selection = selection
            self.destination = destination
            self.platforms = platforms
            self.compression = compression
            self.blockSize = blockSize
            self.name = name
            self.tag = tag
        }
    }

    public enum Destination: Sendable, Hashable, CustomStringConvertible {
        /// A directory of SIF files (absolute).
        case directory(String)
        /// `oras://REGISTRY/REPOSITORY`: this repository.
        case repository(String)
        /// `oras://REGISTRY/NAMESPACE/`: a repository per image, named after it.
        case namespace(String)

        /// A directory, or an `oras://` repository or namespace (trailing `/`). Relative
        /// directories are taken from `base`.
        public init(parsing text: String, base: String) {
            if text.hasPrefix("oras://") {
                self = text.hasSuffix("/") ? .namespace(String(text.dropLast())) : .repository(text)
            } else {
                self = .directory(Wishlist.absolute(text, base: base))
            }
        }

        public var description: String {
            switch self {
            case let .directory(path): path
            case let .repository(text): text
            case let .namespace(text): text + "/"
            }
        }
    }

    /// `path` as given when absolute, else inside `base`, without `.` components.
    static func absolute(_ path: String, base: String) -> String {
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        return URL(fileURLWithPath: joined).standardizedFileURL.path
    }

    /// A local source's path made absolute (`oci:layout:tag` → `oci:/base/layout:tag`);
    /// registry sources are left alone.
    static func absoluteSource(_ source: String, base: String) -> String {
        for scheme in ["oci:", "oci-archive:", "docker-archive:"] where source.hasPrefix(scheme) {
            let rest = source.dropFirst(scheme.count)
            guard !rest.hasPrefix("/") else { return source }
            return scheme + base + "/" + rest
        }
        return source
    }
}
