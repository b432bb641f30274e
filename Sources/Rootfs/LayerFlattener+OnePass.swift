import ArchiveIO

/// What mksquashfs must be started with before the one-pass stream begins: it takes the
/// root's owner from the process and its mode from the command line, so they are guessed up
/// front and checked at the end. (The root's time, the stream's latest, is known only at
/// the end: the caller sets it in the image afterwards, see `FlattenSummary.latestTime`.)
public struct OnePassGuess: Sendable, Hashable {
    /// The root's mode and owner (its time unused): from the first member of the highest
    /// layer that starts with `./`, or the defaults.
    public var root: RootMetadata
}

/// How a one-pass attempt ended.
public enum OnePassResult: Sendable {
    /// The whole stream was written and matches the exact plan.
    case written(FlattenSummary)
    /// The pass gave up; what it wrote must be discarded and the two passes run instead.
    case abandoned(reason: String)
}

extension LayerFlattener {
    /// The guess to start mksquashfs with for `write(guess:toFileDescriptor:)`, reading only
    /// the first member of each layer. Nil when a layer cannot be opened (the two passes then
    /// report why).
    public func onePassGuess() -> OnePassGuess? {
        var root = RootMetadata(mode: 0o755, uid: 0, gid: 0, mtime: options.defaultTime)
        for layer in layers.reversed() {
            let member: ArchiveEntry?
            do {
                member = try LayerStream(layer, imageName: options.imageName, checkDiffID: false).next()
            } catch {
                return nil
            }
            guard let first = member else { continue }
            if Paths.clean(first.pathnameBytes ?? []).isEmpty, first.fileType == .directory, first.hardlinkBytes == nil {
                root = RootMetadata(mode: first.permissions, uid: first.uid, gid: first.gid, mtime: options.defaultTime)
                break
            }
        }
        return OnePassGuess(root: root)
    }

    /// Writes the whole stream reading each layer once, top layer first (see `OnePass`), into
    /// `fd` for a consumer started with `guess`. Throws only when writing fails; any other
    /// problem, a bad layer included, abandons the attempt so the two passes can run and
    /// report it exactly as they always do.
    public func write(guess: OnePassGuess, toFileDescriptor fd: Int32) throws(RootfsError) -> OnePassResult {
        let emitter = try Emitter(fileDescriptor: fd, options: options, root: guess.root)
        do {
            return .written(try OnePass(layers: layers, options: options, guess: guess, emitter: emitter).run())
        } catch let error as Mispredicted {
            return .abandoned(reason: error.reason)
        } catch let error as RootfsError {
            if case .outputFailed = error { throw error }
            return .abandoned(reason: error.description)
        } catch {
            return .abandoned(reason: "\(error)")
        }
    }
}
