import Distribution
import Foundation
import Hashing
import OCISpec
import SIF
import Squashfs

/// Options of `sifter verify`.
public struct VerifyOptions: Sendable {
    /// The source to resolve; nil takes the one recorded in the provenance.
    public var source: String?
    /// Rebuild from the recorded digest and require identical bytes.
    public var rebuild = false
    /// Integrity only: no registry, no rebuild.
    public var offline = false
    public var mksquashfs = "mksquashfs"
    /// OpenPGP key files (`--key`, `--keyring`) to check the SIF's signatures against.
    public var keyFiles: [String] = []
    /// Check legacy (Singularity before 3.6) signatures instead of current ones.
    public var legacySignatures = false
    /// Accept overlay partitions added after the build (reported, not failed).
    public var allowAdded = false

    public init() {}
}

/// `sifter verify`: integrity against the record written at build time, the source against the
/// registry, and optionally a rebuild. Never throws: every failure becomes a check's status.
public struct Verifier: Sendable {
    public let options: VerifyOptions
    /// How to reach a registry, called only for `docker://` sources.
    public let registry: @Sendable (ImageReference) throws -> RegistryAccess

    public init(options: VerifyOptions, registry: @escaping @Sendable (ImageReference) throws -> RegistryAccess) {
        self.options = options
        self.registry = registry
    }

    public func verify(path: String) -> VerifyReport {
        let integrity = IntegrityChecker.check(path: path, allowAdded: options.allowAdded)
        var checks = [integrityCheck(integrity), signatureCheck(path: path)]
        // A SIF sifter did not build (apptainer's, the reference's) has no record, but checked
        // signatures vouch for its header and every object: that is integrity enough.
        if integrity.noRecord, checks[1].status == .passed {
            checks[0].status = .skipped
            checks[0].summary = "no \(IntegrityRecord.objectName) (not built by sifter); the signatures cover every object"
        }
        let provenance: Result<RecordedProvenance?, any Error> = Result {
            let image = try SIFImage.load(path: path)
            defer { try? image.close() }
            return try RecordedProvenance.load(from: image)
        }
        if options.offline {
            checks.append(.init(name: "source", status: .skipped, summary: "--offline"))
        } else {
            checks.append(sourceCheck(provenance))
        }
        if options.rebuild && !options.offline {
            checks.append(rebuildCheck(path: path, provenance: provenance))
        }
        return VerifyReport(path: path, checks: checks)
    }

    func integrityCheck(_ result: IntegrityResult) -> VerifyReport.Check {
        let objects: [JSONValue] = result.objects.map { object in
            .object([
                ("id", .int(Int64(object.id))), ("name", .string(object.name)), ("type", .string(object.type)),
                ("size", .int(object.size)), ("sha256", object.sha256.map { .string($0) } ?? .null),
                ("recordedSHA256", object.recorded.map { .string($0) } ?? .null),
            ])
        }
        return .init(name: "integrity", status: result.status, summary: result.summary,
                     findings: result.findings + result.uncovered, details: [("objects", .array(objects))])
    }

    // MARK: Source

    func sourceCheck(_ provenance: Result<RecordedProvenance?, any Error>) -> VerifyReport.Check {
        let recorded: RecordedProvenance
        switch provenance {
        case let .failure(error): return .init(name: "source", status: .cannotCheck, summary: "no readable provenance: \(error)")
        case .success(nil): return .init(name: "source", status: .cannotCheck, summary: "the SIF has no \(IntegrityChecker.provenanceName)")
        case let .success(found?): recorded = found
        }
        let sourceText = options.source ?? recorded.source
        var details: [(String, JSONValue)] = [
            ("source", .string(sourceText)),
            ("recordedManifestDigest", .string(recorded.manifestDigest.description)),
            ("recordedIndexDigest", recorded.indexDigest.map { .string($0.description) } ?? .null),
        ]
        let current: (manifest: Digest, index: Digest?)
        do {
            current = try resolve(sourceText, platform: try recorded.requestedPlatform)
        } catch {
            return .init(name: "source", status: .cannotCheck, summary: "cannot resolve \(sourceText): \(error)", details: details)
        }
        let moved = current.manifest != recorded.manifestDigest
        details += [
            ("currentManifestDigest", .string(current.manifest.description)),
            ("currentIndexDigest", current.index.map { .string($0.description) } ?? .null),
            ("moved", .bool(moved)),
        ]
        guard !moved else {
            let finding = Finding(id: nil, name: sourceText, type: "", problem:
                "now resolves to \(current.manifest), the SIF was built from \(recorded.manifestDigest)")
            return .init(name: "source", status: .failed,
                         summary: "\(sourceText) has moved: built from \(recorded.manifestDigest), now \(current.manifest)",
                         findings: [finding], details: details)
        }
        var summary = "\(sourceText) still resolves to \(current.manifest)"
        if let index = current.index, let old = recorded.indexDigest, index != old {
            summary += " (its index changed: \(old) → \(index))"
        }
        return .init(name: "source", status: .passed, summary: summary, details: details)
    }

    /// The manifest (and index) digest a source names now, without downloading layers.
    func resolve(_ text: String, platform: Platform) throws -> (manifest: Digest, index: Digest?) {
        if text.hasPrefix("docker://") {
            let reference = try ImageReference.parse(text)
            let resolved = try registry(reference).client.resolve(reference, platform: platform)
            return (resolved.manifestDigest, resolved.indexDigest)
        }
        let image = try SourceParser.parse(text).resolve(platform: platform)
        return (image.manifestDigest, image.indexDigest)
    }

    // MARK: Rebuild

    func rebuildCheck(path: String, provenance: Result<RecordedProvenance?, any Error>) -> VerifyReport.Check {
        guard case let .success(recorded?) = provenance else {
            return .init(name: "rebuild", status: .cannotCheck, summary: "the SIF has no readable provenance")
        }
        let directory = NSTemporaryDirectory() + "sifter-verify-" + UUID().uuidString.prefix(8).lowercased()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/rebuilt.sif"
        let original: SHA256Digest
        let result: BuildResult
        do {
            guard let buildOptions = try recorded.buildOptions(mksquashfs: options.mksquashfs) else {
                return .init(name: "rebuild", status: .cannotCheck, summary: "the provenance records no build options (built before `verify` existed)")
            }
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            original = try SHA256.hash(fileAt: path)
            result = try Builder(options: buildOptions).build(source: try rebuildSource(recorded), output: output)
        } catch {
            return .init(name: "rebuild", status: .cannotCheck, summary: "cannot rebuild \(recorded.source): \(error)")
        }
        var details: [(String, JSONValue)] = [
            ("from", .string(pinnedText(recorded))),
            ("sha256", .string(original.hex)),
            ("rebuiltSHA256", .string(result.sha256)),
        ]
        guard original.hex != result.sha256 else {
            return .init(name: "rebuild", status: .passed, summary: "identical to a rebuild from \(recorded.manifestDigest.short) (sha256:\(result.sha256))", details: details)
        }
        if let signatures = sameApartFromSignatures(path: path, rebuilt: output) {
            return .init(name: "rebuild", status: .passed,
                         summary: "identical to a rebuild from \(recorded.manifestDigest.short) apart from \(signatures) signature object(s) added since", details: details)
        }
        let findings = rebuildDifferences(path: path, rebuilt: output, recorded: recorded)
        details.append(("differingObjects", .array(findings.compactMap { $0.id.map { .int(Int64($0)) } })))
        return .init(name: "rebuild", status: .failed,
                     summary: "a rebuild from \(recorded.manifestDigest.short) gives sha256:\(result.sha256), the SIF is sha256:\(original.hex)",
                     findings: findings, details: details)
    }

    /// The recorded source pinned to the recorded digest, keeping the text the build saw (it is
    /// written into the provenance and the definition file, so it must not change). Pinning the
    /// index, when there was one, keeps the index digest in the provenance too.
    func rebuildSource(_ recorded: RecordedProvenance) throws -> any ImageSource {
        guard recorded.source.hasPrefix("docker://") else { return try SourceParser.parse(recorded.source) }
        let pinned = try ImageReference.parse(recorded.source).pinned(to: recorded.indexDigest ?? recorded.manifestDigest)
        let access = try registry(pinned)
        return RegistrySource(reference: pinned, sourceText: recorded.source, client: access.client, cache: access.cache)
    }

    func pinnedText(_ recorded: RecordedProvenance) -> String {
        guard recorded.source.hasPrefix("docker://"), let reference = try? ImageReference.parse(recorded.source) else { return recorded.source }
        return "docker://" + reference.pinned(to: recorded.indexDigest ?? recorded.manifestDigest).description
    }

    /// For a signed SIF: the number of signature objects when, those left out, every object
    /// and descriptor and the build-time header fields equal the rebuild's; else nil.
    func sameApartFromSignatures(path: String, rebuilt: String) -> Int? {
        guard let mine = try? SIFImage.load(path: path) else { return nil }
        defer { try? mine.close() }
        guard let theirs = try? SIFImage.load(path: rebuilt) else { return nil }
        defer { try? theirs.close() }
        let signatures = Set(mine.descriptors(matching: [.dataType(.signature)]).map(\.id))
        guard !signatures.isEmpty, let a = try? IntegrityRecord.measure(mine, excluding: signatures),
              let b = try? IntegrityRecord.measure(theirs), a == b else { return nil }
        return signatures.count
    }

    /// Which objects differ between the SIF and its rebuild, with a hint when the tools differ.
    func rebuildDifferences(path: String, rebuilt: String, recorded: RecordedProvenance) -> [Finding] {
        var findings: [Finding] = []
        do {
            let mine = try SIFImage.load(path: path)
            defer { try? mine.close() }
            let theirs = try SIFImage.load(path: rebuilt)
            defer { try? theirs.close() }
            let a = try IntegrityRecord.measure(mine)
            let b = try IntegrityRecord.measure(theirs)
            if a.header != b.header {
                findings.append(Finding(id: nil, name: "header", type: "", problem: "differs from the rebuild: " + IntegrityChecker.differences(a.header, b.header)))
            }
            let rebuiltByID = Dictionary(b.objects.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            for object in a.objects {
                let finding = { (problem: String) in Finding(id: object.id, name: object.name, type: object.type, problem: problem) }
                guard let other = rebuiltByID[object.id] else { findings.append(finding("not in the rebuild")); continue }
                if other.sha256 != object.sha256 {
                    findings.append(finding("data sha256:\(object.sha256), the rebuild has sha256:\(other.sha256)"))
                } else if other != object {
                    findings.append(finding("descriptor differs from the rebuild: " + IntegrityChecker.differences(other, object)))
                }
            }
        } catch {
            findings.append(Finding(id: nil, name: "comparison", type: "", problem: "\(error)"))
        }
        if let here = try? MksquashfsProcess.version(executable: options.mksquashfs).text, here != recorded.mksquashfsVersion {
            findings.append(Finding(id: nil, name: "tools", type: "", problem: "built with mksquashfs \(recorded.mksquashfsVersion), this machine has \(here)"))
        }
        if recorded.sifterVersion != BuildMetadata.sifterVersion {
            findings.append(Finding(id: nil, name: "tools", type: "", problem: "built by sifter \(recorded.sifterVersion), this is \(BuildMetadata.sifterVersion)"))
        }
        return findings
    }
}
