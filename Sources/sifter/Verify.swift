import ArgumentParser
import Foundation
import SifterCore
import Synchronization

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove that a SIF built by sifter is intact and matches its source image digest.",
        discussion: """
        Integrity: the SIF loads and every object, partition included, has the sha256 and \
        descriptor recorded in sifter-integrity.json at build time. Source: --source (default: \
        the source recorded in sifter-provenance.json) resolves at the registry to the recorded \
        manifest digest; a moved tag is reported with both digests. --rebuild rebuilds from the \
        recorded digest with the recorded options and requires identical bytes (it is written \
        under $TMPDIR and removed; signature objects added since are left out of the comparison).

        Signatures: with --key or --keyring, every signature in the SIF is checked as \
        `apptainer verify` checks it (each object group signed, the signer's fingerprint, the \
        header, every descriptor and object unchanged since signing); each signer and the \
        objects it covers are reported. Without a key the signers are listed, unchecked. \
        Signature objects added after the build are accepted by the integrity check; any other \
        added object is named and fails it, except overlay partitions with --allow-added.

        Exit status: 0 verified, 1 mismatch, 2 cannot check (registry unreachable, no \
        provenance or integrity record, unreadable file).
        """
    )

    @Argument(help: "The SIF file.") var file: String
    @Option(help: "Source to resolve instead of the recorded one (docker://REF, oci:DIR[:TAG], …).") var source: String?
    @Flag(help: "Rebuild from the recorded digest and require a byte-identical SIF.") var rebuild = false
    @Flag(help: "Check integrity only; no network.") var offline = false
    @Option(help: "The mksquashfs to run for --rebuild.") var mksquashfs = "mksquashfs"
    @Option(help: "Check the SIF's signatures against this OpenPGP public key file (repeatable).") var key: [String] = []
    @Option(help: "Check the SIF's signatures against the keys of this keyring file (`gpg --export`; repeatable).")
    var keyring: [String] = []
    @Flag(help: "Check legacy signatures (Singularity before 3.6) instead of current ones; they cover object data only.")
    var legacyInsecure = false
    @Flag(help: "Accept overlay partitions added after the build (`apptainer overlay create`); they are still reported.")
    var allowAdded = false
    @Flag(help: "Print a JSON report.") var json = false
    @OptionGroup var registry: RegistryFlags

    func validate() throws {
        if offline && (rebuild || source != nil) {
            throw ValidationError("--offline checks integrity only; it cannot be combined with --rebuild or --source")
        }
    }

    func run() throws {
        var options = VerifyOptions()
        options.source = source
        options.rebuild = rebuild
        options.offline = offline
        options.mksquashfs = mksquashfs
        options.keyFiles = key + keyring
        options.legacySignatures = legacyInsecure
        options.allowAdded = allowAdded
        let flags = registry
        // The source check and the rebuild both ask for the registry; one client per host, so
        // that --password-stdin is read once.
        let clients = ClientMemo()
        let report = Verifier(options: options) { reference in
            try clients.access(for: reference.registry) {
                RegistryAccess(client: try flags.client(for: reference.registry), cache: try flags.cache())
            }
        }.verify(path: file)
        printOut(json ? report.json.rendered() + "\n" : report.text)
        let code = report.verdict.exitCode
        if code != 0 { throw ExitCode(code) }
    }
}

/// Registry access made once per host and reused.
final class ClientMemo: Sendable {
    private let made = Mutex<[String: RegistryAccess]>([:])

    func access(for host: String, make: () throws -> RegistryAccess) throws -> RegistryAccess {
        try made.withLock { made in
            if let existing = made[host] { return existing }
            let access = try make()
            made[host] = access
            return access
        }
    }
}
