import Foundation
import Hashing
import OCISpec
import SIF
import Squashfs

/// The documents a build writes into the SIF besides the partition, all derived from the
/// resolved image and the options so that the same input gives the same bytes.
public struct BuildMetadata: Sendable {
    public let definition: String
    public let labels: [String: String]
    public let runtimeEntries: [RuntimeEntry]
    public let inspectMetadata: [UInt8]
    public let ociConfig: [UInt8]
    /// Unix seconds recorded everywhere a time is needed.
    public let time: Int64

    /// The version recorded in labels and provenance (`SifterVersion`, the one place it is written).
    public static let sifterVersion = SifterVersion.current

    public init(image: ResolvedImage, time: Int64) throws {
        self.time = time
        let definitionFile = DefinitionFile(image: image, options: DefinitionOptions(pinned: true, applyWorkingDir: false))
        definition = definitionFile.text
        let labels = BuildMetadata.labels(image: image, definition: definitionFile, time: time)
        self.labels = labels
        runtimeEntries = ApptainerFiles.entries(config: image.config.config, labels: labels, definition: definitionFile)
        inspectMetadata = Array(BuildMetadata.inspectJSON(entries: runtimeEntries, labels: labels, definition: definition).utf8)
        ociConfig = try BuildMetadata.ociConfigJSON(image.config.config)
    }

    /// labels.json, merged in `insertLabelsJSON`'s order: the image's labels (the bootstrap's
    /// `insertOCILabels`), then the build's (`addBuildLabels`, which win), then the definition
    /// file's %labels where the key is still free, so `apptainer build` from the embedded file
    /// gives the same set (build date and version aside).
    static func labels(image: ResolvedImage, definition: DefinitionFile, time: Int64) -> [String: String] {
        var labels = image.config.config?.Labels ?? [:]
        var buildLabels: [String: String] = [
            "org.label-schema.schema-version": "1.0",
            "org.label-schema.build-date": BuildMetadata.labelSchemaDate(time),
            "org.opencontainers.image.created": UnixTime.iso8601(time),
            "org.label-schema.usage.singularity.deffile.bootstrap": image.bootstrap,
            "org.opencontainers.image.architecture": image.config.architecture,
            "org.label-schema.build-arch": image.config.architecture,
            "org.sylabs.sifter.version": BuildMetadata.sifterVersion,
        ]
        // One label per header key of the definition file, with its value as written; for a
        // registry, Apptainer 1.5+ names the base image by that reference and its digest.
        if let from = definition.from {
            buildLabels["org.label-schema.usage.singularity.deffile.from"] = from
            if image.bootstrap == "docker" {
                buildLabels["org.opencontainers.image.base.name"] = from
                buildLabels["org.opencontainers.image.base.digest"] = image.manifestDigest.description
            }
        }
        if ApptainerFiles.helpFile(definition) != nil {
            buildLabels["org.label-schema.usage"] = "/.singularity.d/runscript.help"
            buildLabels["org.label-schema.usage.apptainer.runscript.help"] = "/.singularity.d/runscript.help"
        }
        if let variant = image.config.variant { buildLabels["org.opencontainers.image.variant"] = variant }
        labels.merge(buildLabels) { _, build in build }
        labels.merge(definition.labels) { existing, _ in existing }
        return labels
    }

    /// Apptainer's inspect document (`pkg/inspect/metadata.go`): file texts without trailing newlines.
    static func inspectJSON(entries: [RuntimeEntry], labels: [String: String], definition: String) -> String {
        func text(_ path: String) -> String {
            guard case let .file(bytes)? = entries.first(where: { $0.path == path })?.kind else { return "" }
            return String(decoding: bytes, as: UTF8.self).trimmingSuffixNewlines
        }
        let environment: [(String, JSONValue)] = [
            ("/.singularity.d/env/10-docker2singularity.sh", .string(text(".singularity.d/env/10-docker2singularity.sh"))),
            ("/.singularity.d/env/90-environment.sh", .string(text(".singularity.d/env/90-environment.sh"))),
        ]
        var attributes: [(String, JSONValue)] = [
            ("environment", .object(environment)),
            ("labels", .object(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("runscript", .string(text(".singularity.d/runscript"))),
        ]
        // Struct order: … runscript, test, helpfile, deffile, startscript; empty ones omitted.
        if entries.contains(where: { $0.path == ".singularity.d/runscript.help" }) {
            attributes.append(("helpfile", .string(text(".singularity.d/runscript.help"))))
        }
        attributes.append(("deffile", .string(definition.trimmingSuffixNewlines)))
        attributes.append(("startscript", .string(text(".singularity.d/startscript"))))
        return JSONValue.object([("data", .object([("attributes", .object(attributes))])), ("type", .string("container"))])
            .rendered(indentString: "")
    }

    /// The image config's `config` member, compact, keys sorted (the `oci-config.json` object).
    static func ociConfigJSON(_ config: ImageConfig.Config?) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return [UInt8](try encoder.encode(config ?? ImageConfig.Config()))
    }

    /// `org.label-schema.build-date`, in Apptainer's `Weekday_D_Month_YYYY_H:M:S_ZONE` form.
    static func labelSchemaDate(_ time: Int64) -> String {
        let iso = UnixTime.iso8601(time)  // YYYY-MM-DDTHH:MM:SSZ
        let parts = iso.split(whereSeparator: { "-T:Z".contains($0) }).compactMap { Int($0) }
        guard parts.count == 6 else { return iso }
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        let days = ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"]
        let dayNumber = Int((time >= 0 ? time : time - 86_399) / 86_400)
        let weekday = days[((dayNumber % 7) + 7) % 7]
        return "\(weekday)_\(parts[2])_\(months[parts[1] - 1])_\(parts[0])_\(parts[3]):\(parts[4]):\(parts[5])_UTC"
    }

    /// A SIF ID derived from what determines the output, so rebuilding the same digest with the
    /// same options gives the same file (a name-based UUID: sha256, version 5 bits).
    public static func deterministicID(manifest: Digest, options: String) throws -> [UInt8] {
        var hasher = try SHA256Hasher()
        hasher.update(Array("sifter\u{0}\(manifest)\u{0}\(options)".utf8))
        var bytes = Array(hasher.finalize().bytes.prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return bytes
    }
}
