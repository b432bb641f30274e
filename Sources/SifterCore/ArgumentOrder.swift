/// `apptainer build` takes the output first (`apptainer build OUT.sif docker://…`), sifter the
/// source first; the swapped order would otherwise fail as an unsupported source named like a
/// SIF file.
public enum ArgumentOrder {
    static let schemes = ["docker://", "oci:", "oci-archive:", "docker-archive:"]

    /// A hint when `source` names no image but `output` does, nil otherwise.
    public static func swappedHint(source: String, output: String) -> String? {
        func isSource(_ text: String) -> Bool { schemes.contains { text.hasPrefix($0) } }
        guard !isSource(source), isSource(output) else { return nil }
        return "\"\(output)\" is a source and \"\(source)\" is not: sifter build takes SOURCE first, then OUT.sif "
            + "(apptainer build takes them the other way round); try: sifter build \(output) \(source)"
    }
}
