import Foundation
import SBOM
import SIF

/// `sifter sbom`: a SIF's SBOM object, written out byte for byte.
public enum SBOMExtractor {
    /// The SBOM object of `format` (`spdx`, `cyclonedx`, or a SIF format name such as
    /// `spdx-json`), or the SIF's only one.
    public static func find(in image: SIFImage, format: String?) throws -> Descriptor {
        let all = image.descriptors(matching: [.dataType(.sbom)])
        var wanted: SBOMFormat?
        if let format {
            guard let code = SBOMDocumentFormat(rawValue: format).map(SBOMStage.sifFormat) ?? SBOMFormat(name: format) else {
                throw SifterError.invalidArgument("--format \"\(format)\": spdx, cyclonedx, or a SIF SBOM format (spdx-json, cyclonedx-json, …)")
            }
            wanted = code
        }
        let matching = all.filter { wanted == nil || sbomFormat($0) == wanted }
        let present = all.map { "object \($0.id): \(sbomFormat($0).map(\.description) ?? "unknown")" }.joined(separator: ", ")
        guard let first = matching.first else {
            throw SBOMError.missing(file: image.path, detail: all.isEmpty
                ? "no SBOM object (built with --no-sbom, or by a tool that writes none)"
                : "no \(wanted?.description ?? "") SBOM object (it has \(present))")
        }
        guard matching.count == 1 else {
            throw SifterError.invalidArgument("\(image.path): \(matching.count) SBOM objects (\(present)): choose one with --format")
        }
        return first
    }

    /// Writes the object's bytes to `fd`, in chunks.
    public static func copy(_ descriptor: Descriptor, of image: SIFImage, to fd: Int32, name: String) throws {
        var reader = image.reader(for: descriptor)
        try reader.forEachChunk { chunk in
            var offset = 0
            while offset < chunk.count {
                let count = write(fd, chunk.baseAddress! + offset, chunk.count - offset)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { throw SifterError.io(path: name, operation: "write", reason: String(cString: strerror(errno))) }
                offset += count
            }
        }
    }

    static func sbomFormat(_ descriptor: Descriptor) -> SBOMFormat? {
        if case let .sbom(format)? = descriptor.metadata { return format }
        return nil
    }
}
