import Foundation
import SIF

/// Outcome of one check of `sifter verify`.
public enum CheckStatus: String, Sendable {
    case passed
    case failed
    case cannotCheck = "cannot-check"
    case skipped
}

/// Something wrong with one part of a SIF, named so a person can find it without a hex dump.
public struct Finding: Sendable, Equatable, CustomStringConvertible {
    /// The object's ID; nil for the header or the file as a whole.
    public var id: UInt32?
    public var name: String
    public var type: String
    public var problem: String

    /// `object 5 (partition)`, `object 2 "oci-config.json" (genericJSON)`, `header`.
    public var subject: String {
        guard let id else { return name.isEmpty ? "file" : name }
        return "object \(id)" + (name.isEmpty ? "" : " \"\(name)\"") + " (\(type))"
    }

    public var description: String { "\(subject): \(problem)" }
}

/// What the integrity check found: every recorded object with its digests, and the findings.
public struct IntegrityResult: Sendable {
    public var status: CheckStatus
    public var summary: String
    public var findings: [Finding]
    /// Each live object: recorded and actual sha256 (nil when not recorded or not hashed).
    public var objects: [(id: UInt32, name: String, type: String, size: Int64, sha256: String?, recorded: String?)]
    /// Objects added after the build and accepted: signatures (checked by the signature
    /// check, not here), and with `--allow-added` overlay partitions.
    public var uncovered: [Finding]
    /// The SIF has no integrity record and nothing says it should (not built by sifter).
    public var noRecord = false
}

/// Checks a SIF against its `sifter-integrity.json`: the structure loads (the loader validates
/// offsets, overlaps and counts), every recorded object is present with the same descriptor
/// fields and the same sha256, and nothing that could change the container was added.
public enum IntegrityChecker {
    /// The provenance object, which also says whether an integrity record must be present.
    static let provenanceName = ProvenanceDocument.objectName

    /// `allowAdded` accepts overlay partitions added after the build (`apptainer overlay
    /// create`), still naming them.
    public static func check(path: String, allowAdded: Bool = false) -> IntegrityResult {
        let image: SIFImage
        do { image = try SIFImage.load(path: path) } catch {
            if case .io = error { return cannot("cannot read \(error)") }
            return failed([Finding(id: nil, name: "structure", type: "", problem: error.description)])
        }
        defer { try? image.close() }
        do { return try check(image, allowAdded: allowAdded) } catch {
            return cannot("\(path): \(error)")
        }
    }

    static func check(_ image: SIFImage, allowAdded: Bool = false) throws -> IntegrityResult {
        let candidates = image.descriptors(matching: [.dataType(.genericJSON), .name(IntegrityRecord.objectName)])
        guard let recordDescriptor = candidates.first else {
            // Without a record nothing can be proven; that is a failure only when the
            // provenance (itself unverified here) says the build wrote one.
            if try provenanceExpectsRecord(image) {
                return failed([Finding(id: nil, name: IntegrityRecord.objectName, type: "genericJSON",
                                       problem: "missing or renamed, though the provenance says the build wrote it")])
            }
            var result = cannot("\(image.path) has no \(IntegrityRecord.objectName) (not built by sifter ≥ 0.1 with integrity records)")
            result.noRecord = true
            return result
        }
        let recordFinding = { (problem: String) in
            Finding(id: recordDescriptor.id, name: recordDescriptor.name, type: recordDescriptor.dataType.name, problem: problem)
        }
        guard candidates.count == 1 else {
            return failed([recordFinding("there are \(candidates.count) integrity records (objects \(candidates.map { String($0.id) }.joined(separator: ", ")))")])
        }
        let record: IntegrityRecord
        do {
            record = try IntegrityRecord.decode(try image.data(of: recordDescriptor, limit: 4 << 20))
        } catch let error as IntegrityRecord.DecodeError {
            if case .unsupportedVersion = error { return cannot(error.description) }
            return failed([recordFinding(error.description)])
        }
        let actual = try IntegrityRecord.measure(image, excluding: [recordDescriptor.id])
        return compare(record: record, actual: actual, recordDescriptor: recordDescriptor, image: image, allowAdded: allowAdded)
    }

    static func compare(record: IntegrityRecord, actual: IntegrityRecord, recordDescriptor: SIF.Descriptor,
                        image: SIFImage, allowAdded: Bool = false) -> IntegrityResult {
        var findings: [Finding] = []
        var uncovered: [Finding] = []
        if record.header != actual.header {
            findings.append(Finding(id: nil, name: "header", type: "", problem: "fields differ: " + differences(record.header, actual.header)))
        }
        let recordedByID = Dictionary(record.objects.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var listed: [(id: UInt32, name: String, type: String, size: Int64, sha256: String?, recorded: String?)] = []
        for object in actual.objects {
            let finding = { (problem: String) in Finding(id: object.id, name: object.name, type: object.type, problem: problem) }
            guard let recorded = recordedByID[object.id] else {
                listed.append((object.id, object.name, object.type, object.size, object.sha256, nil))
                // A signature changes nothing that runs (and is checked by the signature check);
                // an overlay changes what runs only when written to, and is accepted on request.
                let descriptor = image.descriptors(matching: [.id(object.id)]).first
                let what = descriptor.map(describeAdded) ?? "a \(object.type) object"
                let isOverlay = descriptor?.partition?.part == .overlay
                if object.type == DataType.signature.name {
                    uncovered.append(finding("added after the build: \(what) (not covered by the record)"))
                } else if isOverlay && allowAdded {
                    uncovered.append(finding("added after the build: \(what); accepted (--allow-added)"))
                } else if isOverlay {
                    findings.append(finding("added after the build: \(what), as `apptainer overlay create` adds; --allow-added accepts overlay partitions"))
                } else {
                    findings.append(finding("added after the build: \(what)"))
                }
                continue
            }
            listed.append((object.id, object.name, object.type, object.size, object.sha256, recorded.sha256))
            let fieldDifferences = differences(recorded, object, ignoring: ["sha256"])
            if !fieldDifferences.isEmpty {
                findings.append(finding("descriptor differs from the build: " + fieldDifferences))
            }
            if recorded.sha256 != object.sha256 {
                findings.append(finding("data hashes to sha256:\(object.sha256), the build recorded sha256:\(recorded.sha256)"))
            }
        }
        let present = Set(actual.objects.map(\.id))
        for recorded in record.objects where !present.contains(recorded.id) {
            findings.append(Finding(id: recorded.id, name: recorded.name, type: recorded.type, problem: "missing (deleted since the build)"))
        }
        findings += recordDescriptorFindings(recordDescriptor, record: record, header: image.header)
        let total = record.objects.reduce(Int64(0)) { $0 + $1.size }
        guard findings.isEmpty else {
            var result = failed(findings)
            result.objects = listed
            result.uncovered = uncovered
            return result
        }
        let note = uncovered.isEmpty ? "" : "; added since and accepted: " + uncovered.map(\.subject).joined(separator: ", ")
        return IntegrityResult(status: .passed, summary: "\(record.objects.count) objects (\(total) bytes) match their recorded sha256\(note)",
                               findings: [], objects: listed, uncovered: uncovered)
    }

    /// `an Ext3 overlay partition (65536 bytes)`, `a signature for group 1 by ABCD…`.
    static func describeAdded(_ d: SIF.Descriptor) -> String {
        switch d.metadata {
        case let .partition(fs, part, _)?:
            let role = part == .primarySystem ? "primary system" : "\(part)".lowercased()
            return "a\(fs.description.first.map { "AEIOU".contains($0) } == true ? "n" : "") \(fs) \(role) partition (\(d.size) bytes)"
        case let .signature(_, entity)?:
            let fingerprint = entity.prefix(20).allSatisfy { $0 == 0 } ? "an unnamed key" : entity.prefix(20).map { String(format: "%02X", $0) }.joined()
            let target = d.link.map { link -> String in
                switch link {
                case let .group(group): "group \(group)"
                case let .object(id): "object \(id)"
                }
            } ?? "nothing"
            return "a signature for \(target) by \(fingerprint)"
        default:
            return "a \(d.dataType.name) object (\(d.size) bytes)"
        }
    }

    /// The record cannot cover its own descriptor, so check that it is what a build writes:
    /// right after the recorded objects, in group 1, unlinked, stamped with the build time.
    static func recordDescriptorFindings(_ d: SIF.Descriptor, record: IntegrityRecord, header: Header) -> [Finding] {
        var problems: [String] = []
        let end = record.objects.map { $0.offset + $0.size }.max() ?? 0
        if d.offset != end { problems.append("offset \(d.offset), expected \(end) (right after the recorded objects)") }
        if d.sizeWithPadding != d.size { problems.append("padded size \(d.sizeWithPadding), expected \(d.size)") }
        if d.groupID != ObjectInput.defaultGroup || d.link != nil { problems.append("group or link changed") }
        if d.createdAt != record.header.createdAt || d.modifiedAt != record.header.createdAt {
            problems.append("times \(d.createdAt)/\(d.modifiedAt), expected the build time \(record.header.createdAt)")
        }
        if d.uid != 0 || d.gid != 0 { problems.append("uid/gid \(d.uid)/\(d.gid), expected 0/0") }
        if d.extra.contains(where: { $0 != 0 }) { problems.append("type-specific bytes are set") }
        guard !problems.isEmpty else { return [] }
        return [Finding(id: d.id, name: d.name, type: d.dataType.name, problem: "descriptor damaged: " + problems.joined(separator: "; "))]
    }

    static func provenanceExpectsRecord(_ image: SIFImage) throws -> Bool {
        guard let provenance = image.descriptors(matching: [.dataType(.genericJSON), .name(provenanceName)]).first else { return false }
        guard let json = try? JSONSerialization.jsonObject(with: Data(image.data(of: provenance))) as? [String: Any] else { return false }
        return json["integrity"] as? String == IntegrityRecord.objectName
    }

    /// `field: recorded → actual` for each differing field of two encodable values.
    static func differences<T: Encodable>(_ recorded: T, _ actual: T, ignoring: Set<String> = []) -> String {
        let encoder = JSONEncoder()
        guard let left = try? JSONSerialization.jsonObject(with: encoder.encode(recorded)) as? [String: Any],
              let right = try? JSONSerialization.jsonObject(with: encoder.encode(actual)) as? [String: Any]
        else { return "unreadable" }
        let keys = Set(left.keys).union(right.keys).subtracting(ignoring).sorted()
        return keys.compactMap { key -> String? in
            let a = left[key].map { "\($0)" } ?? "nil"
            let b = right[key].map { "\($0)" } ?? "nil"
            return a == b ? nil : "\(key) is \(b), recorded \(a)"
        }.joined(separator: ", ")
    }

    static func failed(_ findings: [Finding]) -> IntegrityResult {
        let more = findings.count > 1 ? " (and \(findings.count - 1) more)" : ""
        return IntegrityResult(status: .failed, summary: (findings.first?.description ?? "mismatch") + more,
                               findings: findings, objects: [], uncovered: [])
    }

    static func cannot(_ reason: String) -> IntegrityResult {
        IntegrityResult(status: .cannotCheck, summary: reason, findings: [], objects: [], uncovered: [])
    }
}
