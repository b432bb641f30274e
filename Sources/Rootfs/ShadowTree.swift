/// Why the one-pass flattener gave up; the two-pass flattener then runs and has the last word
/// (its output, or its error message, is the canonical one).
struct Mispredicted: Error {
    var reason: String
}

/// What the layers above the one being read left at each path, for the one-pass flattener,
/// which reads layers from the top down: a member is hidden when a higher layer wrote a
/// non-directory at its path or above, whited it out, or made a parent opaque.
///
/// Paths are taken literally (cleaned, never resolved through symlinks): the flattener
/// gives up (`Mispredicted`) wherever that could differ from the exact, bottom-up
/// resolution, and its result is checked against the exact index at the end anyway.
final class ShadowNode {
    enum Written: Equatable {
        case directory(layer: Int)
        case nonDirectory(layer: Int)
    }

    var children: [Name: ShadowNode] = [:]
    /// The highest member written at this path (a directory or a non-directory), if any.
    var written: Written?
    /// Layers that hide what lower layers have at this path and below: a non-directory
    /// written here, a whiteout of this name. Usually empty or one element.
    var hideAtAndBelow: [Int] = []
    /// Layers that hide what lower layers have strictly below (opaque directories).
    var hideBelow: [Int] = []
}

final class ShadowTree {
    let root = ShadowNode()

    /// The node at `components`, created (as a bookkeeping node) if missing.
    func node(at components: [Name]) -> ShadowNode {
        var current = root
        for name in components {
            if let next = current.children[name] {
                current = next
            } else {
                let next = ShadowNode()
                current.children[name] = next
                current = next
            }
        }
        return current
    }

    /// The node at `components` if it exists.
    func existing(_ components: [Name]) -> ShadowNode? {
        var current = root
        for name in components {
            guard let next = current.children[name] else { return nil }
            current = next
        }
        return current
    }

    /// Whether a member of `layer` at `components` is hidden by a higher layer. Throws when a
    /// member of the same layer wrote a non-directory above it (a symlink would be followed,
    /// or the member refused, by the exact flattener).
    func isHidden(_ components: [Name], layer: Int) throws(Mispredicted) -> Bool {
        try hidingLayers(components, below: layer).contains { $0 > layer }
    }

    /// Every layer that hides `components` from layers below `below`'s view, plus `below`'s own
    /// marks (callers filter). Parents contribute their at-and-below and below marks, the
    /// path itself its at-and-below marks.
    func hidingLayers(_ components: [Name], below layer: Int) throws(Mispredicted) -> [Int] {
        var marks = root.hideBelow
        var current = root
        for (index, name) in components.enumerated() {
            guard let next = current.children[name] else { return marks }
            marks += next.hideAtAndBelow
            if index < components.count - 1 {
                marks += next.hideBelow
                if case .nonDirectory(let writer) = next.written, writer == layer {
                    throw Mispredicted(reason: "a member's parent \"\(Paths.display(Paths.join(Array(components[...index]))))\" is a non-directory of the same layer")
                }
            }
            current = next
        }
        return marks
    }
}
