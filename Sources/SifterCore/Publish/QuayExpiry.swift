/// `--expires-after`: Quay's `quay.expires-after` label, for temporary build tags. Quay applies
/// the manifest annotations of non-image manifests (a SIF artifact is one) as labels, and this
/// label sets the expiry of every tag pointing at the manifest; other registries keep it as a
/// plain annotation.
public enum QuayExpiry {
    public static let annotation = "quay.expires-after"

    /// Checks the value the way Quay reads it (a whole number then one of `s m h d w`, in
    /// `util/timedeltastring.py`): anything else Quay would log and ignore, leaving the tag
    /// forever, so it is refused here instead.
    public static func annotation(_ value: String) throws(PublishError) -> [String: String] {
        guard let unit = value.last, "smhdw".contains(unit), value.count >= 2,
            value.dropLast().allSatisfy({ $0.isASCII && $0.isNumber }), let amount = Int(value.dropLast()), amount > 0
        else {
            throw .invalidExpiry(value)
        }
        return [annotation: value]
    }
}
