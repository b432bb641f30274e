import Foundation
import OpenPGP
import SIF

extension Verifier {
    /// The `signatures` check: with `--key`/`--keyring`, every signature is verified as the
    /// reference implementation does; without, the signers are listed, unchecked.
    func signatureCheck(path: String) -> VerifyReport.Check {
        let name = "signatures"
        let image: SIFImage
        do { image = try SIFImage.load(path: path) } catch {
            return .init(name: name, status: .cannotCheck, summary: "cannot read \(path): \(error)")
        }
        defer { try? image.close() }
        let signatures = image.descriptors(matching: [.dataType(.signature)])
        guard !options.keyFiles.isEmpty else {
            guard !signatures.isEmpty else { return .init(name: name, status: .skipped, summary: "not signed") }
            let findings = signatures.map { descriptor in
                Finding(id: descriptor.id, name: descriptor.name, type: descriptor.dataType.name,
                        problem: "signed by \(signer(descriptor)) for \(SIFSignatureVerifier.describe(descriptor.link)); not checked (give --key or --keyring)")
            }
            return .init(name: name, status: .skipped, summary: "\(signatures.count) signature object(s), not checked (no --key or --keyring)",
                         findings: findings, details: [("signatures", .array(signatures.map { unchecked($0) }))])
        }
        let keyring: Keyring
        do { keyring = try KeyFiles.keyring(options.keyFiles) } catch {
            return .init(name: name, status: .cannotCheck, summary: "\(error)")
        }
        let now = UInt32(clamping: Int64(Date().timeIntervalSince1970))
        let report = SIFSignatureVerifier.verify(image, keyring: keyring, now: now, legacy: options.legacySignatures)
        var findings = report.outcomes.compactMap { outcome -> Finding? in
            guard let problem = outcome.problem else { return nil }
            let descriptor = image.descriptors(matching: [.id(outcome.id)]).first
            return Finding(id: outcome.id, name: descriptor?.name ?? "", type: DataType.signature.name,
                           problem: "signature for \(outcome.covers) by \(outcome.fingerprint.isEmpty ? "an unnamed key" : outcome.fingerprint): \(problem)")
        }
        findings += report.problems.map { Finding(id: nil, name: "signatures", type: "", problem: $0) }
        if signatures.isEmpty {
            findings = [Finding(id: nil, name: "signatures", type: "", problem: "the SIF is not signed")]
        }
        let details: [(String, JSONValue)] = [("signatures", .array(report.outcomes.map { outcome in
            .object([
                ("id", .int(Int64(outcome.id))), ("covers", .string(outcome.covers)),
                ("fingerprint", .string(outcome.fingerprint)), ("signer", outcome.signer.map { .string($0) } ?? .null),
                ("signatureTime", outcome.signatureTime.map { .int(Int64($0)) } ?? .null),
                ("verifiedObjects", .array(outcome.verifiedObjects.map { .int(Int64($0)) })),
                ("legacy", .bool(outcome.legacy)), ("status", .string(outcome.problem == nil ? "verified" : "failed")),
                ("problem", outcome.problem.map { .string($0) } ?? .null),
            ])
        }))]
        guard findings.isEmpty, report.passed else {
            let first = findings.first?.description ?? "no signature verified"
            return .init(name: name, status: .failed, summary: first + (findings.count > 1 ? " (and \(findings.count - 1) more)" : ""),
                         findings: findings, details: details)
        }
        let summary = report.outcomes.map { outcome in
            "signature object \(outcome.id)\(outcome.legacy ? " (legacy)" : "") by \(outcome.signer ?? outcome.fingerprint) covers objects \(outcome.verifiedObjects.map(String.init).joined(separator: ", ")) (\(outcome.covers))"
        }.joined(separator: "; ")
        return .init(name: name, status: .passed, summary: summary, details: details)
    }

    private func signer(_ descriptor: SIF.Descriptor) -> String {
        let fingerprint = SIFSignatureVerifier.fingerprint(descriptor)
        return fingerprint.isEmpty ? "an unnamed key" : fingerprint
    }

    private func unchecked(_ descriptor: SIF.Descriptor) -> JSONValue {
        .object([
            ("id", .int(Int64(descriptor.id))), ("covers", .string(SIFSignatureVerifier.describe(descriptor.link))),
            ("fingerprint", .string(SIFSignatureVerifier.fingerprint(descriptor))), ("status", .string("not-checked")),
        ])
    }
}
