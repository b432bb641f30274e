/// One object to write: its inode's content under `paths[0]`, then hard links to it under
/// the other paths, so every link follows its target (mksquashfs drops a link whose target
/// comes later).
struct EmitItem {
    let inode: Inode
    var paths: [[UInt8]]
}

/// What pass 2 writes, computed from the final tree: all directories (parents first,
/// siblings in byte order) and, per layer and member ordinal, the objects whose content
/// that member provides.
struct Plan {
    var directories: [(path: [UInt8], metadata: DirectoryMetadata)] = []
    /// `items[layer][ordinal]`; the last element is for the synthetic entries.
    var items: [[Int: EmitItem]]

    init(tree: Tree, layerCount: Int) {
        items = Array(repeating: [:], count: layerCount)
        // Depth-first with an explicit stack (hostile nesting cannot overflow it); children
        // are pushed in reverse byte order so they pop in byte order, which makes the
        // output and the choice of each inode's first name deterministic.
        var stack: [(path: [Name], directory: Directory)] = [([], tree.root)]
        while let (path, directory) = stack.popLast() {
            if !path.isEmpty { directories.append((Paths.join(path), directory.metadata)) }
            let names = directory.children.keys.sorted(by: lexicographicallyPrecedes)
            var subdirectories: [(path: [Name], directory: Directory)] = []
            for name in names {
                guard let child = directory.children[name] else { continue }
                if let sub = child.directory {
                    subdirectories.append((path + [name], sub))
                } else if let inode = child.inode {
                    let source = inode.source
                    let full = Paths.join(path + [name])
                    if items[source.layer][source.ordinal] == nil {
                        items[source.layer][source.ordinal] = EmitItem(inode: inode, paths: [full])
                    } else {
                        items[source.layer][source.ordinal]?.paths.append(full)
                    }
                }
            }
            stack.append(contentsOf: subdirectories.reversed())
        }
    }
}
