import ArchiveIO

/// Where an object's content comes from: member `ordinal` (counting every tar header) of
/// layer `layer`; `layer == layers.count` designates `FlattenOptions.synthetic[ordinal]`.
struct EntryRef: Hashable {
    var layer: Int
    var ordinal: Int
}

/// Metadata of a directory, kept in the index because directories are written from it.
struct DirectoryMetadata: Equatable {
    var mode: UInt32
    var uid: Int64
    var gid: Int64
    var mtime: Int64
    var xattrs: [ArchiveXattr]
}

/// A non-directory object: what a hard link shares. Immutable: writing a path again makes a
/// new inode, so older hard links keep the old content (umoci removes, then recreates).
final class Inode {
    enum Kind: Equatable {
        case regular
        case symlink(target: [UInt8])
        case characterDevice
        case blockDevice
        case fifo
    }

    let source: EntryRef
    let kind: Kind
    /// A regular file with an execute bit (a candidate of `FlattenOptions.executableProbe`).
    let executable: Bool

    init(source: EntryRef, kind: Kind, mode: UInt32 = 0) {
        self.source = source
        self.kind = kind
        executable = kind == .regular && mode & 0o111 != 0
    }

    var symlinkTarget: [UInt8]? {
        if case .symlink(let target) = kind { return target }
        return nil
    }
}

final class Directory {
    var metadata: DirectoryMetadata
    var children: [Name: Node] = [:]

    init(metadata: DirectoryMetadata) {
        self.metadata = metadata
    }
}

/// One name in the tree: a directory or a link to an inode.
final class Node {
    let directory: Directory?
    let inode: Inode?
    /// The last layer that wrote this path or one below it: umoci's `upperPaths`. Whiteouts
    /// of layer L never remove what layer L itself wrote, whatever the order in the tar.
    var touched: Int

    init(directory: Directory, touched: Int) {
        self.directory = directory
        self.inode = nil
        self.touched = touched
    }

    init(inode: Inode, touched: Int) {
        self.directory = nil
        self.inode = inode
        self.touched = touched
    }
}

/// Why resolving a path failed; turned into `RootfsError.invalidEntry` by the caller.
struct ResolveFailure: Error {
    var reason: String
}

/// The in-memory index of the tree being built: names and metadata, never file contents.
final class Tree {
    let root: Directory
    /// Like Linux's MAXSYMLINKS and securejoin's limit.
    static let maxSymlinks = 255

    init(rootMetadata: DirectoryMetadata) {
        root = Directory(metadata: rootMetadata)
    }

    /// Resolves `components` inside the root like securejoin's `SecureJoin`: every existing
    /// symlink met on the way is replaced by its target (an absolute target restarts at the
    /// root, `..` never climbs above it); a missing component and everything after it are
    /// kept literally. The last component is followed only if `followLast`.
    func resolve(_ components: [Name], followLast: Bool) throws(ResolveFailure) -> [Name] {
        var resolved: [Name] = []
        // nodes[i] is the node at resolved[0...i], nil once a component is missing.
        var nodes: [Node?] = []
        var pending = Array(components.reversed())
        var followed = 0
        while let name = pending.popLast() {
            if name.isEmpty || name == Paths.dot { continue }
            if name == Paths.dotDot {
                if !resolved.isEmpty {
                    resolved.removeLast()
                    nodes.removeLast()
                }
                continue
            }
            let parent: Directory?
            if let last = nodes.last { parent = last?.directory } else { parent = root }
            let child = parent?.children[name]
            if let target = child?.inode?.symlinkTarget, followLast || !pending.isEmpty {
                followed += 1
                if followed > Tree.maxSymlinks {
                    throw ResolveFailure(reason: "too many levels of symbolic links")
                }
                if target.first == Paths.slash {
                    resolved.removeAll()
                    nodes.removeAll()
                }
                pending.append(contentsOf: Paths.components(target).reversed())
                continue
            }
            resolved.append(name)
            nodes.append(child)
        }
        return resolved
    }

    /// The directory at an already resolved path, or nil if it is missing or not a directory.
    func directory(at resolved: [Name]) -> Directory? {
        var current = root
        for name in resolved {
            guard let next = current.children[name]?.directory else { return nil }
            current = next
        }
        return current
    }

    /// Makes sure every component of a resolved path is a directory, creating missing ones
    /// with `implicit` metadata (umoci's `MkdirAll`), and marks them as touched by `layer`.
    func makeDirectories(_ resolved: [Name], layer: Int, implicit: DirectoryMetadata) throws(ResolveFailure)
        -> Directory
    {
        var current = root
        for name in resolved {
            if let node = current.children[name] {
                guard let directory = node.directory else {
                    throw ResolveFailure(reason: "parent \"\(Paths.display(Paths.join(resolved)))\" is not a directory")
                }
                node.touched = layer
                current = directory
            } else {
                let directory = Directory(metadata: implicit)
                current.children[name] = Node(directory: directory, touched: layer)
                current = directory
            }
        }
        return current
    }

    /// Removes what `layer` did not write below `directory`, descending into the
    /// directories it did touch: an opaque whiteout, or the inside of a whited-out
    /// directory that the same layer also wrote to (umoci's walk over `upperPaths`).
    func prune(_ directory: Directory, keeping layer: Int) {
        // An explicit stack, not recursion: a hostile layer can nest directories deeper
        // than the thread's stack allows.
        var stack = [directory]
        while let current = stack.popLast() {
            for name in Array(current.children.keys) {
                guard let child = current.children[name] else { continue }
                if child.touched != layer {
                    current.children[name] = nil
                } else if let sub = child.directory {
                    stack.append(sub)
                }
            }
        }
    }

    /// `.wh.NAME`: removes NAME unless `layer` wrote it (or below it).
    func whiteout(_ name: Name, in directory: Directory, layer: Int) {
        guard let child = directory.children[name] else { return }
        if child.touched != layer {
            directory.children[name] = nil
        } else if let sub = child.directory {
            prune(sub, keeping: layer)
        }
    }
}
