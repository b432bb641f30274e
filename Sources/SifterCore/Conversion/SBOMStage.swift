import Foundation
import Rootfs
import SBOM
import SIF

/// The build's SBOM: the package databases of the final tree, collected as the stream goes
/// into mksquashfs (no other pass over the layers), written as the SIF's SBOM object after
/// the partition.
final class SBOMStage {
    let format: SBOMDocumentFormat
    private var collector: PackageDatabaseCollector!
    /// Where an rpm database is spooled: made when one arrives, removed when the run ends or is
    /// interrupted (and by a later run when this one is killed).
    private var scratch: ScratchDirectory?

    init(format: SBOMDocumentFormat, source: String) {
        self.format = format
        collector = PackageDatabaseCollector { [weak self] in
            let scratch = try ScratchDirectory.create(source: source, kind: "sbom")
            self?.scratch = scratch
            return scratch.path
        }
    }

    deinit { scratch?.remove() }

    /// What the flattener offers every regular file to.
    var observer: any ContentObserver { Forwarder(collector) }

    /// Once the stream is complete: the SBOM object, and what could not be listed.
    func object(image: ResolvedImage, time: Int64) throws -> (object: ObjectInput, packages: Int, warnings: [String]) {
        let inventory: Inventory
        do {
            defer {
                scratch?.remove()
                scratch = nil
            }
            inventory = try collector.finish()
        }
        let subject = SBOMSubject(
            source: image.sourceText, reference: image.reference, manifestDigest: image.manifestDigest.description,
            repositoryURL: image.registry.flatMap { registry in image.repository.map { "\(registry)/\($0)" } },
            platform: image.platform.description)
        let id = try BuildMetadata.deterministicID(manifest: image.manifestDigest,
                                                  options: "sbom \(format.rawValue) \(image.sourceText) \(time)")
        let document = SBOMDocument(format: format, subject: subject, inventory: inventory, created: UnixTime.iso8601(time),
                                    documentID: Self.uuidText(id), toolVersion: BuildMetadata.sifterVersion)
        let object = try ObjectInput(.sbom, source: .bytes(document.encoded()), name: format.objectName,
                                     metadata: .sbom(format: Self.sifFormat(format)), time: time)
        return (object, inventory.packages.count, inventory.warnings.map { "SBOM: \($0)" })
    }

    /// The descriptor's format code, as the SIF reference implementation defines it.
    static func sifFormat(_ format: SBOMDocumentFormat) -> SBOMFormat {
        switch format {
        case .spdx: .spdxJSON
        case .cyclonedx: .cycloneDXJSON
        }
    }

    static func uuidText(_ bytes: [UInt8]) -> String {
        let hex = bytes.map { byte in String(byte, radix: 16).count == 1 ? "0" + String(byte, radix: 16) : String(byte, radix: 16) }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
    }

    /// The collector has the observer's shape; this gives it the protocol without making the
    /// SBOM module depend on Rootfs.
    private final class Forwarder: ContentObserver {
        let collector: PackageDatabaseCollector

        init(_ collector: PackageDatabaseCollector) { self.collector = collector }

        func wantsContent(of paths: [[UInt8]]) -> Bool { collector.wantsContent(of: paths) }
        func receive(_ bytes: UnsafeRawBufferPointer) -> Bool { collector.receive(bytes) }
        func endOfContent() { collector.endOfContent() }
    }
}
