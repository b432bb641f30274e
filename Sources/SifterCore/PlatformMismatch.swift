import OCISpec

/// The warning for a `--platform` that a single-manifest image does not match. Without an
/// index there is nothing to choose from, so the image is built as it is (Apptainer 1.4+ does
/// the same and warns "Architecture X does not match build arch Y" in its SIF assembler).
public enum PlatformMismatch {
    /// Nil when the image came from an index (the choice matched), or when `requested` accepts
    /// the image's platform; otherwise a sentence naming both.
    public static func warning(source: String, requested: Platform, image: Platform, fromIndex: Bool) -> String? {
        guard !fromIndex, !requested.accepts(image) else { return nil }
        let described = image.architecture.isEmpty ? "names no architecture" : "is for \(image)"
        return "\(source) is a single image, not an index to choose from; it \(described), not the requested "
            + "platform \(requested): building it as it is"
    }
}
