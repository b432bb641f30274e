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
    /// Executable regular files in the order Go's `filepath.Walk` meets them (each directory's
    /// names in byte order, a subdirectory entered as soon as it is met, symlinks not
    /// followed), each inode at its first name: what `FlattenOptions.executableProbe` walks.
    var executableRank: [EntryRef: Int] = [:]

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
        executableRank = Self.walkExecutables(tree.root)
    }

    private static func walkExecutables(_ root: Directory) -> [EntryRef: Int] {
        var ranks: [EntryRef: Int] = [:]
        var position = 0
        var stack: [(directory: Directory, names: [Name], next: Int)] = [
            (root, root.children.keys.sorted(by: lexicographicallyPrecedes), 0),
        ]
        while let top = stack.last {
            guard top.next < top.names.count else {
                stack.removeLast()
                continue
            }
            stack[stack.count - 1].next += 1
            guard let child = top.directory.children[top.names[top.next]] else { continue }
            if let directory = child.directory {
                stack.append((directory, directory.children.keys.sorted(by: lexicographicallyPrecedes), 0))
            } else if let inode = child.inode, inode.executable {
                if ranks[inode.source] == nil { ranks[inode.source] = position }
                position += 1
            }
        }
        return ranks
    }
}
