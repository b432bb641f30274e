/// Errors of `sifter sync` itself; an entry's conversion fails with the error of the module
/// that failed (registry, build, push), which the report keeps as it is.
public enum SyncError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The wishlist cannot be read or is not what sync understands; `place` is `FILE:LINE:COLUMN`.
    case wishlist(place: String, reason: String)
    /// `--shard` is not `I/N` with 0 ≤ I < N.
    case invalidShard(String)
    /// Two entries would write the same output.
    case duplicateOutput(String, places: [String])
    /// An output in a directory exists but no sifter provenance says where it came from, so
    /// replacing it could destroy someone's file.
    case foreignOutput(path: String, reason: String)
    /// Some entries failed (each is in the report); the others were done.
    case entriesFailed(failed: Int, total: Int)

    public var description: String {
        switch self {
        case let .wishlist(place, reason):
            "\(place): \(reason)"
        case let .invalidShard(text):
            "invalid --shard \"\(text)\": expected I/N with 0 <= I < N (e.g. 0/4)"
        case let .duplicateOutput(output, places):
            "\(output) is named by more than one entry (\(places.joined(separator: ", "))); give one of them another name: or tag:"
        case let .foreignOutput(path, reason):
            "\(path) exists and \(reason); sync replaces only SIFs it wrote (move the file away)"
        case let .entriesFailed(failed, total):
            "\(failed) of \(total) entries failed (see the report)"
        }
    }
}
