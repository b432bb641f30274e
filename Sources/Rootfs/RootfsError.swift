/// Every failure of the flattener. Each case names the image, the layer (its digest, or
/// `synthetic` for sifter's own files) and, where one is involved, the entry path as it
/// appeared in the tar (non-UTF-8 bytes shown as `\xNN`).
public enum RootfsError: Error, Sendable, Equatable, CustomStringConvertible {
    case unsupportedMediaType(image: String, layer: String, mediaType: String)
    case unsupportedCompression(image: String, layer: String, filters: [String])
    case sizeMismatch(image: String, layer: String, expected: Int64, actual: Int64)
    case digestMismatch(image: String, layer: String, actual: String)
    case diffIDMismatch(image: String, layer: String, expected: String, actual: String)
    /// libarchive could not read the blob (truncated or corrupt compression, broken tar).
    case unreadableLayer(image: String, layer: String, entry: String?, message: String)
    /// A member the flattener refuses (bare `.wh.`, a whiteout of `.` or `..`, a whiteout used
    /// as a directory, a root that is not a directory, a parent that is not a directory, a
    /// symlink loop, an unsupported type).
    case invalidEntry(image: String, layer: String, entry: String, reason: String)
    /// A hard link whose target is missing, a directory, or the link itself.
    case invalidHardlink(image: String, layer: String, entry: String, target: String, reason: String)
    /// The blob read differently in the second pass than in the first.
    case layerChanged(image: String, layer: String, entry: String?, reason: String)
    /// Writing the output stream failed (e.g. the reader of the pipe exited).
    case outputFailed(image: String, layer: String?, entry: String?, message: String)

    public var description: String {
        switch self {
        case let .unsupportedMediaType(image, layer, mediaType):
            return "\(image): layer \(layer): unsupported layer media type \"\(mediaType)\""
        case let .unsupportedCompression(image, layer, filters):
            return "\(image): layer \(layer): unsupported compression \(filters.joined(separator: "+")) (gzip, zstd or none)"
        case let .sizeMismatch(image, layer, expected, actual):
            return "\(image): layer \(layer): blob is \(actual) bytes, the manifest says \(expected)"
        case let .digestMismatch(image, layer, actual):
            return "\(image): layer \(layer): blob digest is \(actual)"
        case let .diffIDMismatch(image, layer, expected, actual):
            return "\(image): layer \(layer): uncompressed digest is \(actual), the config's diff_id is \(expected)"
        case let .unreadableLayer(image, layer, entry, message):
            let at = entry.map { " after entry \"\($0)\"" } ?? ""
            return "\(image): layer \(layer): unreadable\(at): \(message)"
        case let .invalidEntry(image, layer, entry, reason):
            return "\(image): layer \(layer): entry \"\(entry)\": \(reason)"
        case let .invalidHardlink(image, layer, entry, target, reason):
            return "\(image): layer \(layer): hard link \"\(entry)\" -> \"\(target)\": \(reason)"
        case let .layerChanged(image, layer, entry, reason):
            let at = entry.map { " at entry \"\($0)\"" } ?? ""
            return "\(image): layer \(layer): blob changed between the two passes\(at): \(reason)"
        case let .outputFailed(image, layer, entry, message):
            let from = layer.map { " (layer \($0)" + (entry.map { ", entry \"\($0)\")" } ?? ")") } ?? ""
            return "\(image): writing the flattened tar failed\(from): \(message)"
        }
    }
}
