import ArchiveIO

/// Pass 1: applies each member's header to the `Tree`, with the semantics of umoci's
/// `UnpackEntry` as run by Apptainer (as root): paths cleaned lexically, parents resolved
/// through symlinks inside the root, whiteouts honouring same-layer writes, non-directories
/// clobbering whatever was there, directories onto directories only updating metadata,
/// hard links sharing the inode their target has at that moment.
final class Indexer {
    let tree: Tree
    let imageName: String
    let defaultTime: Int64
    let mtimeClamp: Int64?

    init(options: FlattenOptions) {
        imageName = options.imageName
        defaultTime = options.defaultTime
        mtimeClamp = options.mtimeClamp
        tree = Tree(rootMetadata: DirectoryMetadata(mode: 0o755, uid: 0, gid: 0, mtime: options.defaultTime, xattrs: []))
    }

    /// Metadata of a directory no member describes: what `MkdirAll(0777)` under Apptainer's
    /// umask gives as root, with a fixed time instead of "now".
    var implicitDirectory: DirectoryMetadata {
        DirectoryMetadata(mode: 0o755, uid: 0, gid: 0, mtime: defaultTime, xattrs: [])
    }

    func clampedTime(_ seconds: Int64?) -> Int64 {
        let value = seconds ?? defaultTime
        if let clamp = mtimeClamp, value > clamp { return clamp }
        return value
    }

    /// The latest time any member of the output can carry: mksquashfs's tar mode stamps the
    /// root with SOURCE_DATE_EPOCH (or "now"), and clamps everything later to it, so this is
    /// the value that keeps every time intact and the output reproducible.
    private(set) lazy var latestTime: Int64 = clampedTime(nil)

    private func noteTime(_ seconds: Int64?) {
        latestTime = max(latestTime, clampedTime(seconds))
    }

    /// Applies one tar member. Returns true if it was a whiteout.
    func apply(_ entry: ArchiveEntry, ref: EntryRef, layerDigest: String) throws(RootfsError) -> Bool {
        try apply(MemberHeader(entry), ref: ref, layerDigest: layerDigest)
    }

    /// Applies one member's header. Returns true if it was a whiteout.
    func apply(_ entry: MemberHeader, ref: EntryRef, layerDigest: String) throws(RootfsError) -> Bool {
        noteTime(entry.mtime)
        let rawPath = entry.path
        let fail = { (reason: String) in
            RootfsError.invalidEntry(image: self.imageName, layer: layerDigest, entry: Paths.display(rawPath), reason: reason)
        }
        let components = Paths.clean(rawPath)
        let hardlink = entry.hardlink
        let type = entry.type

        guard let name = components.last else {
            // The root itself: only its metadata can change (umoci refuses any other type,
            // since a symlink there would be followed).
            guard type == .directory, hardlink == nil else { throw fail("the root may only be a directory") }
            tree.root.metadata = directoryMetadata(entry)
            return false
        }
        let parentComponents = Array(components.dropLast())
        if parentComponents.contains(where: Paths.isWhiteout) {
            throw fail("a whiteout name is used as a directory")
        }
        if Paths.isWhiteout(name) {
            try applyWhiteout(name, parent: parentComponents, layer: ref.layer, fail: fail)
            return true
        }

        let parentPath: [Name]
        do {
            parentPath = try tree.resolve(parentComponents, followLast: true)
        } catch {
            throw fail(error.reason)
        }

        let node: Node
        if let hardlink {
            node = try hardlinkNode(to: hardlink, at: parentPath + [name], layer: ref.layer, entry: rawPath, digest: layerDigest)
        } else {
            let kind: Inode.Kind
            switch type {
            case .directory:
                try place(directory: directoryMetadata(entry), name: name, parentPath: parentPath, layer: ref.layer, fail: fail)
                return false
            case .regular: kind = .regular
            case .symlink:
                guard let target = entry.symlink, !target.isEmpty else { throw fail("symlink without a target") }
                kind = .symlink(target: target)
            case .characterDevice: kind = .characterDevice
            case .blockDevice: kind = .blockDevice
            case .fifo: kind = .fifo
            case .socket, .unknown:
                throw fail("unsupported member type \(type)")
            }
            node = Node(inode: Inode(source: ref, kind: kind, mode: entry.permissions), touched: ref.layer)
        }
        let parent: Directory
        do {
            parent = try tree.makeDirectories(parentPath, layer: ref.layer, implicit: implicitDirectory)
        } catch {
            throw fail(error.reason)
        }
        // A non-directory clobbers whatever was there, a whole directory tree included.
        parent.children[name] = node
        return false
    }

    /// Directory onto directory updates metadata and keeps the children; onto anything else
    /// it replaces it.
    func place(directory metadata: DirectoryMetadata, name: Name, parentPath: [Name], layer: Int,
               fail: (String) -> RootfsError) throws(RootfsError) {
        let parent: Directory
        do {
            parent = try tree.makeDirectories(parentPath, layer: layer, implicit: implicitDirectory)
        } catch {
            throw fail(error.reason)
        }
        if let existing = parent.children[name], let directory = existing.directory {
            directory.metadata = metadata
            existing.touched = layer
        } else {
            parent.children[name] = Node(directory: Directory(metadata: metadata), touched: layer)
        }
    }

    private func applyWhiteout(_ name: Name, parent: [Name], layer: Int, fail: (String) -> RootfsError) throws(RootfsError) {
        let isOpaque = name == Paths.opaqueMarker
        let target = Name(name.dropFirst(Paths.whiteoutPrefix.count))
        if !isOpaque {
            if target.isEmpty { throw fail("bare whiteout \".wh.\" names nothing") }
            if target == Paths.dot || target == Paths.dotDot {
                throw fail("whiteout of \"\(Paths.display(target))\" would reach outside its directory")
            }
        }
        let parentPath: [Name]
        do {
            parentPath = try tree.resolve(parent, followLast: true)
        } catch {
            throw fail(error.reason)
        }
        // Nothing to hide when the directory does not exist (or is not a directory); whiteouts
        // never create anything.
        guard let directory = tree.directory(at: parentPath) else { return }
        if isOpaque {
            tree.prune(directory, keeping: layer)
        } else {
            tree.whiteout(target, in: directory, layer: layer)
        }
    }

    /// A hard link shares the inode of its target. As in umoci the target's directory is
    /// resolved inside the root but its last component is not followed, and the link's own
    /// path is removed first, so a link to itself finds nothing.
    private func hardlinkNode(to target: [UInt8], at linkPath: [Name], layer: Int, entry: [UInt8], digest: String)
        throws(RootfsError) -> Node
    {
        let fail = { (reason: String) in
            RootfsError.invalidHardlink(
                image: self.imageName, layer: digest, entry: Paths.display(entry), target: Paths.display(target),
                reason: reason)
        }
        let components = Paths.clean(target)
        guard let last = components.last else { throw fail("the target is the root directory") }
        let directoryPath: [Name]
        do {
            directoryPath = try tree.resolve(Array(components.dropLast()), followLast: true)
        } catch {
            throw fail(error.reason)
        }
        guard let node = tree.directory(at: directoryPath)?.children[last] else {
            throw fail("the target does not exist in this or a lower layer")
        }
        if node.directory != nil { throw fail("the target is a directory") }
        if directoryPath + [last] == linkPath { throw fail("the link names itself") }
        guard let inode = node.inode else { throw fail("the target is not a file") }
        return Node(inode: inode, touched: layer)
    }

    func directoryMetadata(_ entry: MemberHeader) -> DirectoryMetadata {
        DirectoryMetadata(
            mode: entry.permissions, uid: entry.uid, gid: entry.gid, mtime: clampedTime(entry.mtime),
            xattrs: entry.xattrs)
    }

    /// Applies one of sifter's own entries as a member of layer `ref.layer` (after the image's).
    func apply(synthetic: SyntheticEntry, ref: EntryRef) throws(RootfsError) {
        noteTime(synthetic.mtime)
        let rawPath = Array(synthetic.path.utf8)
        let fail = { (reason: String) in
            RootfsError.invalidEntry(image: self.imageName, layer: "synthetic", entry: synthetic.path, reason: reason)
        }
        let components = Paths.clean(rawPath)
        guard var name = components.last else { throw fail("a synthetic entry cannot replace the root") }
        var parentPath: [Name]
        do {
            parentPath = try tree.resolve(Array(components.dropLast()), followLast: true)
        } catch {
            throw fail(error.reason)
        }
        let existing = tree.directory(at: parentPath)?.children[name]
        switch synthetic.policy {
        case .replace: break
        case .ifAbsent: if existing != nil { return }
        case .ifAbsentOrSymlink: if let existing, existing.inode?.symlinkTarget == nil { return }
        case .replaceThroughSymlink:
            if existing?.inode?.symlinkTarget != nil, let target = symlinkDestination(parentPath + [name], layer: ref.layer) {
                parentPath = Array(target.dropLast())
                name = target[target.count - 1]
            }
        case let .replaceKeepingHistory(directory, prefix):
            if let existing { keep(existing, at: parentPath + [name], in: directory, prefix: prefix, layer: ref.layer) }
        }
        let mode = synthetic.mode & 0o7777
        switch synthetic.kind {
        case .directory:
            let metadata = DirectoryMetadata(mode: mode, uid: synthetic.uid, gid: synthetic.gid,
                                             mtime: clampedTime(synthetic.mtime), xattrs: [])
            try place(directory: metadata, name: name, parentPath: parentPath, layer: ref.layer, fail: fail)
        case .file, .symlink:
            var kind = Inode.Kind.regular
            if case .symlink(let target) = synthetic.kind {
                guard !target.isEmpty else { throw fail("symlink without a target") }
                kind = .symlink(target: Array(target.utf8))
            }
            let parent: Directory
            do {
                parent = try tree.makeDirectories(parentPath, layer: ref.layer, implicit: implicitDirectory)
            } catch {
                throw fail(error.reason)
            }
            parent.children[name] = Node(inode: Inode(source: ref, kind: kind, mode: synthetic.mode), touched: ref.layer)
        }
    }

    /// Where the symlink at `path` leads inside the root, with its parent directories made, or
    /// nil when it leads to the root, a directory, or nowhere (a loop, a file as a parent).
    private func symlinkDestination(_ path: [Name], layer: Int) -> [Name]? {
        guard let target = try? tree.resolve(path, followLast: true), let last = target.last else { return nil }
        let parent = Array(target.dropLast())
        if tree.directory(at: parent)?.children[last]?.directory != nil { return nil }
        guard (try? tree.makeDirectories(parent, layer: layer, implicit: implicitDirectory)) != nil else { return nil }
        return target
    }

    /// Moves `node`, found at `path`, into `directory` as `prefix` + the number of entries there
    /// (replacing an entry of that name). Nothing moves when the directory cannot be made or
    /// would lie inside the node itself.
    private func keep(_ node: Node, at path: [Name], in directory: String, prefix: String, layer: Int) {
        guard let historyPath = try? tree.resolve(Paths.clean(Array(directory.utf8)), followLast: true),
              !historyPath.starts(with: path),
              let history = try? tree.makeDirectories(historyPath, layer: layer, implicit: implicitDirectory) else { return }
        history.children[Name(Array("\(prefix)\(history.children.count)".utf8))] = node
    }
}
