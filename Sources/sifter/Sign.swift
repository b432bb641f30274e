import ArgumentParser
import Foundation
import OpenPGP
import SIF
import SifterCore

struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign a SIF in Apptainer's format (what `apptainer verify` checks).",
        discussion: """
        Adds one OpenPGP signature object per object group, exactly as the SIF reference \
        implementation (`apptainer sign`) does: a clear-signed JSON document with the SHA-256 \
        digests of the header, of every descriptor and of every object of the group, in an \
        object linked to the group whose descriptor names the signer's fingerprint. The key \
        is an armored or binary OpenPGP secret key (RSA, what `apptainer key newpair` makes, \
        or Ed25519), e.g. from `gpg --export-secret-keys --armor ID`. A protected key's \
        passphrase comes from --passphrase-stdin or SIFTER_SIGN_PASSPHRASE. The file is \
        signed in place. Neither key nor passphrase is ever printed or written anywhere but \
        into the signature.
        """
    )

    @Argument(help: "The SIF file to sign.") var file: String
    @Option(help: "The OpenPGP secret key file.") var key: String
    @Flag(help: "Read the key's passphrase from standard input (one line).") var passphraseStdin = false
    @Option(help: "Sign only this object group (repeatable; default: every group).") var group: [UInt32] = []
    @Option(help: "Signature time, Unix seconds or RFC 3339 (default: now).") var time: String?
    @Flag(help: "Stamp the new descriptors and the header with Go's zero time, as the reference's deterministic mode.")
    var deterministic = false
    @Flag(help: "Print a JSON summary.") var json = false

    func run() throws {
        let signatureTime = try time.map(Self.parseTime) ?? Int64(Date().timeIntervalSince1970)
        let signingKey = try KeyFiles.signingKey(key) { try Self.passphrase(fromStdin: passphraseStdin) }
        var options = SignOptions(signatureTime: signatureTime, sifTime: deterministic ? Layout.deterministicTime : nil)
        options.groups = group
        let added = try SIFSigner.sign(path: file, with: signingKey, options: options)
        if json {
            let entries: [JSONValue] = added.map {
                .object([("id", .int(Int64($0.id))), ("group", .int(Int64($0.group))),
                         ("objects", .array($0.objects.map { .int(Int64($0)) })), ("fingerprint", .string($0.fingerprint))])
            }
            printOut(JSONValue.object([("file", .string(file)), ("signatures", .array(entries))]).rendered() + "\n")
        } else {
            for signature in added {
                printOut("\(file): group \(signature.group) (objects \(signature.objects.map(String.init).joined(separator: ", "))) signed by \(signature.fingerprint) in object \(signature.id)\n")
            }
        }
    }

    /// The passphrase, from standard input (one line) or SIFTER_SIGN_PASSPHRASE; nil when
    /// neither was given. Called only for a protected key.
    static func passphrase(fromStdin: Bool) throws -> [UInt8]? {
        if fromStdin {
            var bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
            if let newline = bytes.firstIndex(of: 0x0A) { bytes.removeSubrange(newline...) }
            if bytes.last == 0x0D { bytes.removeLast() }
            return bytes
        }
        return ProcessInfo.processInfo.environment["SIFTER_SIGN_PASSPHRASE"].map { Array($0.utf8) }
    }

    static func parseTime(_ text: String) throws -> Int64 {
        if let seconds = Int64(text) { return seconds }
        let formatter = ISO8601DateFormatter()
        guard let date = formatter.date(from: text) else {
            throw SifterError.invalidArgument("--time \"\(text)\" is neither Unix seconds nor an RFC 3339 time (2020-06-30T00:01:56Z)")
        }
        return Int64(date.timeIntervalSince1970)
    }
}
