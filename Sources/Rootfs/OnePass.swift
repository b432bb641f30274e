import ArchiveIO

/// The one-pass flattener: reads each layer once, from the top layer down, and writes every
/// member whose content survives as soon as it is read, so mksquashfs starts compressing at
/// once instead of after an indexing pass over every layer.
///
/// Reading top-down, a member survives unless a higher layer hid it (`ShadowTree`). Hard
/// links to a file of a lower layer wait for it and follow it in the stream. Headers are
/// kept; after the last layer they are replayed bottom-up through the exact `Indexer`,
/// whose plan must name exactly the objects written (else the run is abandoned), and the
/// directories and sifter's own files are written from that plan. mksquashfs applies a
/// directory's metadata whenever its member comes, so directories can come last.
///
/// Whenever literal top-down reading could differ from the exact semantics (a member below
/// a same-layer non-directory, a path written twice in one layer, a lower non-directory
/// where a higher layer has a directory, a link of a link, a root owner other than the
/// guessed one, ...) it throws `Mispredicted` and the caller runs the two passes.
final class OnePass {
    enum LayerWrite {
        case emitted(ref: EntryRef, path: [UInt8])
        case hidden
        case other
    }

    struct PendingLink {
        var path: [UInt8]
        var layer: Int
        var source: ArchiveEntry
    }

    let layers: [LayerInput]
    let options: FlattenOptions
    let guess: OnePassGuess
    let emitter: Emitter
    let indexer: Indexer
    private let shadow = ShadowTree()
    /// Layer index given to sifter's own files: above every image layer.
    private var syntheticLayer: Int { layers.count }
    private var headers: [[MemberHeader]]
    /// Names written for each object, to compare with the exact plan.
    private var written: [EntryRef: Set<[UInt8]>] = [:]
    /// First bytes of every written regular file that starts like an ELF file.
    private var elfHeads: [EntryRef: [UInt8]] = [:]
    /// Hard links waiting for their target, a file of a lower layer, keyed by target path.
    private var pending: [[UInt8]: [PendingLink]] = [:]
    /// Paths where sifter's symlink replaces an image symlink (Apptainer's `makeSymlinks`).
    private var symlinkReplaced: Set<[UInt8]> = []

    init(layers: [LayerInput], options: FlattenOptions, guess: OnePassGuess, emitter: Emitter) {
        self.layers = layers
        self.options = options
        self.guess = guess
        self.emitter = emitter
        indexer = Indexer(options: options)
        headers = Array(repeating: [], count: layers.count)
        emitter.captureHeads = true
    }

    func run() throws -> FlattenSummary {
        let clock = ContinuousClock()
        registerSynthetic()
        var layerSummaries: [LayerSummary] = []
        var warnings: [String] = []
        var rootSeen = false
        for index in layers.indices.reversed() {
            let start = clock.now
            let layer = layers[index]
            let stream = try LayerStream(layer, imageName: options.imageName, checkDiffID: true)
            var layerWrites: [[UInt8]: LayerWrite] = [:]
            var whiteouts = 0
            var rootHeader: MemberHeader?
            let before = written.count
            while let entry = try stream.next() {
                let header = MemberHeader(entry)
                headers[index].append(header)
                let components = Paths.clean(header.path)
                if components.isEmpty {
                    rootHeader = header
                    continue
                }
                if let name = components.last, Paths.isWhiteout(name) {
                    whiteouts += 1
                    try applyWhiteout(components, layer: index)
                    continue
                }
                let ref = EntryRef(layer: index, ordinal: stream.ordinal)
                try place(entry, header: header, components: components, ref: ref, stream: stream, layerWrites: &layerWrites)
            }
            let totals = try stream.finish()
            warnings += stream.warnings.map { "layer \(layer.digest): \($0)" }
            // The root's metadata comes from the highest layer that has a `./` member.
            if let rootHeader, !rootSeen {
                rootSeen = true
                let mode = rootHeader.permissions | 0o200
                if rootHeader.type != .directory || mode != guess.root.mode | 0o200
                    || rootHeader.uid != guess.root.uid || rootHeader.gid != guess.root.gid {
                    throw Mispredicted(reason: "the root's owner or mode differs from the guess")
                }
            }
            layerSummaries.append(LayerSummary(
                digest: layer.digest, compression: stream.filterNames, compressedBytes: totals.compressed,
                uncompressedBytes: totals.uncompressed, entries: stream.ordinal + 1, whiteouts: whiteouts,
                emittedObjects: written.count - before, indexSeconds: 0, emitSeconds: seconds(clock.now - start)))
        }
        if let (target, links) = pending.first {
            throw Mispredicted(reason: "hard link \"\(Paths.display(links[0].path))\" to \"\(Paths.display(target))\" found no target")
        }
        return try finish(layerSummaries: Array(layerSummaries.reversed()), warnings: warnings)
    }

    /// Sifter's files that replace whatever the image has: their paths hide every layer.
    private func registerSynthetic() {
        for entry in options.synthetic {
            let components = Paths.clean(Array(entry.path.utf8))
            guard !components.isEmpty else { continue }
            switch (entry.policy, entry.kind) {
            case (.replace, .directory):
                let node = shadow.node(at: components)
                if node.written == nil { node.written = .directory(layer: syntheticLayer) }
            case (.replace, _), (.replaceThroughSymlink, _), (.replaceKeepingHistory, _):
                // Through a symlink, or with the image's entry kept elsewhere, the exact plan
                // differs from this guess and the run is abandoned: rare, and then correct.
                let node = shadow.node(at: components)
                node.written = .nonDirectory(layer: syntheticLayer)
                node.hideAtAndBelow.append(syntheticLayer)
            case (.ifAbsentOrSymlink, _):
                symlinkReplaced.insert(Paths.join(components))
            case (.ifAbsent, _):
                break
            }
        }
    }

    private func applyWhiteout(_ components: [Name], layer: Int) throws {
        let parent = Array(components.dropLast())
        if try shadow.isHidden(parent, layer: layer) { return }
        guard let name = components.last else { return }
        if name == Paths.opaqueMarker {
            shadow.node(at: parent).hideBelow.append(layer)
        } else {
            let target = Name(name.dropFirst(Paths.whiteoutPrefix.count))
            guard !target.isEmpty, target != Paths.dot, target != Paths.dotDot else {
                throw Mispredicted(reason: "an invalid whiteout")
            }
            shadow.node(at: parent + [target]).hideAtAndBelow.append(layer)
        }
    }

    private func place(_ entry: ArchiveEntry, header: MemberHeader, components: [Name], ref: EntryRef,
                       stream: LayerStream, layerWrites: inout [[UInt8]: LayerWrite]) throws {
        let layer = ref.layer
        let path = Paths.join(components)
        let hidden = try shadow.isHidden(components, layer: layer)
        let existing = shadow.existing(components)
        let isDirectory = header.type == .directory && header.hardlink == nil
        if !pending.isEmpty, pending[path] != nil {
            guard !isDirectory, header.hardlink == nil else {
                throw Mispredicted(reason: "hard links wait for \"\(Paths.display(path))\", which is not a plain file here")
            }
            try resolvePending(entry, path: path, components: components, ref: ref, visible: !hidden, stream: stream,
                               layerWrites: &layerWrites)
            return
        }
        if hidden {
            layerWrites[path] = .hidden
            return
        }
        if isDirectory {
            if case .nonDirectory(let writer) = existing?.written, writer == layer {
                throw Mispredicted(reason: "\"\(Paths.display(path))\" is written twice in one layer")
            }
            if existing?.written == nil { shadow.node(at: components).written = .directory(layer: layer) }
            layerWrites[path] = .other
            return
        }
        if existing?.written != nil || !(existing?.children.isEmpty ?? true) {
            throw Mispredicted(reason: "\"\(Paths.display(path))\" is a non-directory under a higher layer's directory or written twice")
        }
        if header.type == .symlink, header.hardlink == nil, symlinkReplaced.contains(path) {
            // Apptainer replaces an image symlink here with its own.
            let node = shadow.node(at: components)
            node.written = .nonDirectory(layer: syntheticLayer)
            node.hideAtAndBelow.append(syntheticLayer)
            layerWrites[path] = .hidden
            return
        }
        let node = shadow.node(at: components)
        node.written = .nonDirectory(layer: layer)
        node.hideAtAndBelow.append(layer)
        if let target = header.hardlink {
            try link(entry, path: path, to: target, layer: layer, layerWrites: &layerWrites)
            return
        }
        try emit(entry, ref: ref, paths: [path], stream: stream)
        layerWrites[path] = .emitted(ref: ref, path: path)
    }

    /// A visible hard link: to a file this layer already wrote, or, waiting, to a lower one.
    private func link(_ entry: ArchiveEntry, path: [UInt8], to rawTarget: [UInt8], layer: Int,
                      layerWrites: inout [[UInt8]: LayerWrite]) throws {
        let components = Paths.clean(rawTarget)
        let target = Paths.join(components)
        guard !components.isEmpty, target != path else { throw Mispredicted(reason: "a hard link to the root or itself") }
        switch layerWrites[target] {
        case .emitted(let ref, let written)?:
            try emitter.writeHardlink(path: path, target: written, source: entry, layer: layers[layer].digest)
            self.written[ref, default: []].insert(path)
            layerWrites[path] = .other
        case .hidden?, .other?:
            throw Mispredicted(reason: "hard link \"\(Paths.display(path))\" to a member this pass did not write")
        case nil:
            // The exact flattener would not find a target this layer removed before the link.
            if try shadow.hidingLayers(components, below: layer).contains(layer) {
                throw Mispredicted(reason: "hard link \"\(Paths.display(path))\" to a path its layer removed")
            }
            guard let copy = try? entry.clone() else { throw Mispredicted(reason: "out of memory") }
            pending[target, default: []].append(PendingLink(path: path, layer: layer, source: copy))
            layerWrites[path] = .other
        }
    }

    /// A lower file that hard links of higher layers wait for: written under its own path
    /// when visible, else under the first link's, followed by the links.
    private func resolvePending(_ entry: ArchiveEntry, path: [UInt8], components: [Name], ref: EntryRef, visible: Bool,
                                stream: LayerStream, layerWrites: inout [[UInt8]: LayerWrite]) throws {
        let layer = ref.layer
        let waiting = pending[path] ?? []
        let higher = waiting.filter { $0.layer > layer }
        let marks = try shadow.hidingLayers(components, below: layer)
        for link in higher where marks.contains(where: { $0 > layer && $0 < link.layer }) {
            throw Mispredicted(reason: "hard link \"\(Paths.display(link.path))\" to a path removed below it")
        }
        if visible {
            if let existing = shadow.existing(components), existing.written != nil || !existing.children.isEmpty {
                throw Mispredicted(reason: "\"\(Paths.display(path))\" is written twice or under a higher directory")
            }
            let node = shadow.node(at: components)
            node.written = .nonDirectory(layer: layer)
            node.hideAtAndBelow.append(layer)
        }
        let paths = (visible ? [path] : []) + higher.map(\.path)
        if paths.isEmpty {
            layerWrites[path] = .hidden
        } else {
            try emit(entry, ref: ref, paths: paths, stream: stream)
            // Later links of this layer to it join the name it was written under.
            layerWrites[path] = .emitted(ref: ref, path: paths[0])
        }
        let rest = waiting.filter { $0.layer <= layer }
        pending[path] = rest.isEmpty ? nil : rest
    }

    private func emit(_ entry: ArchiveEntry, ref: EntryRef, paths: [[UInt8]], stream: LayerStream) throws {
        let kind: Inode.Kind
        switch entry.fileType {
        case .regular: kind = .regular
        case .symlink:
            guard let target = entry.symlinkBytes, !target.isEmpty else { throw Mispredicted(reason: "symlink without a target") }
            kind = .symlink(target: target)
        case .characterDevice: kind = .characterDevice
        case .blockDevice: kind = .blockDevice
        case .fifo: kind = .fifo
        default: throw Mispredicted(reason: "unsupported member type")
        }
        try emitter.write(EmitItem(inode: Inode(source: ref, kind: kind), paths: paths), source: entry, stream: stream)
        written[ref, default: []].formUnion(paths)
        if kind == .regular, emitter.lastHead.starts(with: [0x7F, 0x45, 0x4C, 0x46]) {
            elfHeads[ref] = emitter.lastHead
        }
    }

    /// Replays every header bottom-up through the exact index, checks that what was written
    /// is what it plans, and writes the directories and sifter's files from that plan.
    private func finish(layerSummaries: [LayerSummary], warnings: [String]) throws -> FlattenSummary {
        for (layer, members) in headers.enumerated() {
            for (ordinal, header) in members.enumerated() {
                _ = try indexer.apply(header, ref: EntryRef(layer: layer, ordinal: ordinal), layerDigest: layers[layer].digest)
            }
        }
        headers = []
        for (index, entry) in options.synthetic.enumerated() {
            try indexer.apply(synthetic: entry, ref: EntryRef(layer: syntheticLayer, ordinal: index))
        }
        let rootMetadata = indexer.tree.root.metadata
        guard rootMetadata.mode | 0o200 == guess.root.mode | 0o200, rootMetadata.uid == guess.root.uid,
              rootMetadata.gid == guess.root.gid else {
            throw Mispredicted(reason: "the root's owner or mode differs from the guess")
        }
        let plan = Plan(tree: indexer.tree, layerCount: layers.count + 1)
        var planned = 0
        for layer in layers.indices {
            for (ordinal, item) in plan.items[layer] {
                planned += 1
                guard written[EntryRef(layer: layer, ordinal: ordinal)] == Set(item.paths) else {
                    throw Mispredicted(reason: "\"\(Paths.display(item.paths[0]))\" differs from the exact plan")
                }
            }
        }
        guard planned == written.count else { throw Mispredicted(reason: "an object was written that the exact plan drops") }

        for directory in plan.directories {
            try emitter.writeDirectory(path: directory.path, metadata: directory.metadata)
        }
        for (ordinal, item) in plan.items[layers.count].sorted(by: { $0.key < $1.key }) {
            try emitter.write(item, synthetic: options.synthetic[ordinal])
        }
        try emitter.finish()

        var summary = emitter.summary
        summary.layers = layerSummaries
        summary.warnings = warnings + summary.warnings
        let root = RootMetadata(mode: rootMetadata.mode, uid: rootMetadata.uid, gid: rootMetadata.gid,
                                mtime: rootMetadata.mtime, droppedXattrNames: rootMetadata.xattrs.map(\.name))
        summary.root = root
        summary.latestTime = indexer.latestTime
        if !root.droppedXattrNames.isEmpty {
            summary.warnings.insert("xattrs on the root directory cannot be stored and were dropped: "
                + root.droppedXattrNames.joined(separator: ", "), at: warnings.count)
        }
        if let probePath = options.probePath,
           let resolved = try? indexer.tree.resolve(Paths.clean(Array(probePath.utf8)), followLast: true),
           let name = resolved.last,
           let inode = indexer.tree.directory(at: Array(resolved.dropLast()))?.children[name]?.inode,
           inode.kind == .regular {
            summary.probeHead = elfHeads[inode.source]
        }
        return summary
    }

    private func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
