import Foundation
import OCISpec
import Yams

/// Reading a wishlist: YAML through libyaml (Yams), then a strict walk of the nodes, so a
/// misspelt key or a value of the wrong kind is an error naming its line instead of being
/// ignored. Scalars are taken as written (`3.20` stays the tag `3.20`, not the number 3.2).
extension Wishlist {
    static let topKeys: Set<String> = ["version", "defaults", "images"]
    static let defaultKeys: Set<String> = ["destination", "platforms", "compression", "block-size"]
    static let entryKeys: Set<String> = defaultKeys.union(["source", "tags", "versions", "newest", "name", "tag"])

    /// Reads `path`. `destination` (the command line's `--destination`) replaces the
    /// defaults' destination; relative paths in the file are taken from the file's folder.
    public static func load(path: String, destination: String? = nil, hostPlatform: Platform = .host) throws -> Wishlist {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw SifterError.io(path: path, operation: "read", reason: (error as NSError).localizedDescription)
        }
        guard data.count <= 4 << 20 else { throw SyncError.wishlist(place: path, reason: "larger than 4 MiB") }
        guard let text = String(data: data, encoding: .utf8) else { throw SyncError.wishlist(place: path, reason: "not UTF-8 text") }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        let cwd = FileManager.default.currentDirectoryPath
        return try parse(text, path: path, base: base, destination: destination.map { Destination(parsing: $0, base: cwd) },
                         hostPlatform: hostPlatform)
    }

    static func parse(_ text: String, path: String, base: String, destination: Destination?, hostPlatform: Platform) throws -> Wishlist {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw SyncError.wishlist(place: path, reason: "not valid YAML: \(error)")
        }
        let reader = NodeReader(path: path)
        guard let root else { throw SyncError.wishlist(place: path, reason: "empty: it needs an images: list") }
        let top = try reader.mapping(root, keys: topKeys, what: "the wishlist")
        if let version = top["version"], try reader.string(version) != "1" {
            throw reader.error(version, "version \(try reader.string(version)) is not known to this sifter (1 is)")
        }
        var defaults = Defaults(destination: destination, platforms: [PlatformIndex.canonical(hostPlatform)])
        if let node = top["defaults"] {
            let map = try reader.mapping(node, keys: defaultKeys, what: "defaults")
            try defaults.apply(map, reader: reader, base: base, keepDestination: destination != nil)
        }
        guard let imagesNode = top["images"] else { throw reader.error(root, "no images: list") }
        guard case let .sequence(images) = imagesNode else { throw reader.error(imagesNode, "images: must be a list") }
        var entries: [Entry] = []
        for node in images {
            entries.append(try entry(node, defaults: defaults, reader: reader, base: base))
        }
        return Wishlist(path: path, entries: entries)
    }

    private struct Defaults {
        var destination: Destination?
        var platforms: [Platform]
        var compression = "gzip"
        var blockSize: Int?

        mutating func apply(_ map: [String: Node], reader: NodeReader, base: String, keepDestination: Bool) throws {
            if let node = map["destination"], !keepDestination { destination = Destination(parsing: try reader.string(node), base: base) }
            if let node = map["platforms"] { platforms = try reader.platforms(node) }
            if let node = map["compression"] { compression = try reader.string(node) }
            if let node = map["block-size"] { blockSize = try reader.positive(node) }
        }
    }

    private static func entry(_ node: Node, defaults: Defaults, reader: NodeReader, base: String) throws -> Entry {
        let place = reader.place(node)
        var settings = defaults
        var map: [String: Node] = [:]
        let sourceText: String
        if case .scalar = node {
            sourceText = try reader.string(node)
        } else {
            map = try reader.mapping(node, keys: entryKeys, what: "an image entry")
            guard let source = map["source"] else { throw reader.error(node, "the entry has no source:") }
            sourceText = try reader.string(source)
            try settings.apply(map, reader: reader, base: base, keepDestination: false)
        }
        guard ["docker://", "oci:", "oci-archive:", "docker-archive:"].contains(where: sourceText.hasPrefix) else {
            throw reader.error(map["source"] ?? node, "source \"\(sourceText)\" must start with docker://, oci:, oci-archive: or docker-archive:")
        }
        guard let destination = settings.destination else {
            throw reader.error(node, "no destination: for \(sourceText) (set one here, in defaults:, or with --destination)")
        }
        var selection: TagSelection?
        if map["tags"] != nil || map["versions"] != nil {
            var chosen = TagSelection()
            if let tags = map["tags"] { chosen.patterns = try reader.strings(tags) }
            if let versions = map["versions"] {
                do { chosen.versions = try SemverRange(parsing: try reader.string(versions)) } catch let SyncError.wishlist(_, reason) {
                    throw reader.error(versions, reason)
                }
            }
            selection = chosen
        }
        if let newest = map["newest"] {
            guard selection?.versions != nil else { throw reader.error(newest, "newest: needs versions: (it picks the highest versions)") }
            selection?.newest = try reader.positive(newest)
        }
        if selection != nil {
            guard sourceText.hasPrefix("docker://"), !Self.namesTagOrDigest(sourceText) else {
                throw reader.error(map["source"] ?? node, "with tags: or versions:, source must be a docker:// repository without tag or digest")
            }
        }
        for key in ["name", "tag"] {
            guard let value = map[key] else { continue }
            let text = try reader.string(value)
            guard Self.isSafeName(text) else {
                throw reader.error(value, "\(key) \"\(text)\" may hold letters, digits, '_', '.', '-' (not first) only")
            }
        }
        if map["tag"] != nil, selection != nil {
            throw reader.error(map["tag"]!, "tag: names one destination tag; with tags: or versions: each source tag is kept")
        }
        return Entry(place: place, source: absoluteSource(sourceText, base: base), selection: selection, destination: destination,
                     platforms: settings.platforms, compression: settings.compression, blockSize: settings.blockSize,
                     name: try map["name"].map(reader.string), tag: try map["tag"].map(reader.string))
    }

    /// Whether a `docker://` reference text names a tag or digest after its last `/`.
    static func namesTagOrDigest(_ text: String) -> Bool {
        let last = text.split(separator: "/").last ?? ""
        return last.contains(":") || last.contains("@") || text.contains("@")
    }

    /// A file name or tag that cannot leave its folder or hide: `[A-Za-z0-9_.-]`, not `.` first.
    static func isSafeName(_ text: String) -> Bool {
        guard let first = text.first, first != ".", first != "-", text.count <= 128 else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }
}

/// Typed access to YAML nodes with `FILE:LINE:COLUMN` in every error.
struct NodeReader {
    let path: String

    func place(_ node: Node) -> String {
        node.mark.map { "\(path):\($0.line):\($0.column)" } ?? path
    }

    func error(_ node: Node, _ reason: String) -> SyncError {
        .wishlist(place: place(node), reason: reason)
    }

    func mapping(_ node: Node, keys: Set<String>, what: String) throws -> [String: Node] {
        guard case let .mapping(mapping) = node else { throw error(node, "\(what) must be a mapping of keys") }
        var result: [String: Node] = [:]
        for (keyNode, value) in mapping {
            let key = try string(keyNode)
            guard keys.contains(key) else {
                throw error(keyNode, "unknown key \"\(key)\" in \(what) (known: \(keys.sorted().joined(separator: ", ")))")
            }
            guard result[key] == nil else { throw error(keyNode, "\"\(key)\" appears twice") }
            result[key] = value
        }
        return result
    }

    func string(_ node: Node) throws -> String {
        guard case let .scalar(scalar) = node else { throw error(node, "expected a single value, not a list or mapping") }
        guard !(scalar.string.isEmpty && scalar.style == .plain) else { throw error(node, "empty value") }
        return scalar.string
    }

    /// A list of values, or one value.
    func strings(_ node: Node) throws -> [String] {
        if case let .sequence(items) = node { return try items.map(string) }
        return [try string(node)]
    }

    func platforms(_ node: Node) throws -> [Platform] {
        var platforms: [Platform] = []
        for text in try strings(node) {
            for part in text.split(separator: ",") {
                do {
                    let platform = PlatformIndex.canonical(try Platform(parsing: part.trimmingCharacters(in: .whitespaces)))
                    if !platforms.contains(platform) { platforms.append(platform) }
                } catch {
                    throw self.error(node, "\"\(part)\" is not a platform os/arch[/variant]")
                }
            }
        }
        guard !platforms.isEmpty else { throw error(node, "no platform given") }
        return platforms
    }

    func positive(_ node: Node) throws -> Int {
        let text = try string(node)
        guard let value = Int(text), value > 0 else { throw error(node, "\"\(text)\" is not a positive whole number") }
        return value
    }
}
