/// sifter's version, written in this one place: the CLI's `--version`, the provenance and
/// labels of every SIF, `verify`'s comparison with the version that built a file, and the
/// Debian package (`integration/package.sh` asks the built binary) all read it from here.
public enum SifterVersion {
    public static let current = "0.1.0"
}
