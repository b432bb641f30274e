import Foundation
import OCISpec
import Rootfs
import Squashfs

/// The streaming heart of `build`: the layer flattener writes one tar stream into mksquashfs's
/// stdin while mksquashfs compresses it into the SIF at the partition offset.
enum Squash {
    struct Outcome {
        var summary: FlattenSummary
        /// The Go architecture of the image's /bin/sh, from its ELF header.
        var shellArch: String?
    }

    /// `indexed` is called between the passes: pass 1 (every layer read, verified and indexed)
    /// is done, pass 2 (streaming into mksquashfs) about to start.
    static func run(image: ResolvedImage, metadata: BuildMetadata, output: String, offset: Int64,
                    options: MksquashfsOptions, indexed: () -> Void = {}) throws -> Outcome {
        let flattener = makeFlattener(image: image, metadata: metadata)
        let prepared = try flattener.prepare()
        indexed()

        var squashOptions = options
        // Apptainer adds u+w to a root directory that lacks it.
        squashOptions.rootMode = prepared.root.mode | 0o200
        squashOptions.rootUID = UInt32(clamping: prepared.root.uid)
        squashOptions.rootGID = UInt32(clamping: prepared.root.gid)
        squashOptions.sourceDateEpoch = prepared.latestTime
        let process = try MksquashfsProcess(output: output, offset: offset, options: squashOptions)
        let summary: FlattenSummary
        do {
            summary = try flattener.write(prepared, toFileDescriptor: process.input)
        } catch {
            process.abort()
            throw error
        }
        try process.finish()
        return Outcome(summary: summary, shellArch: summary.probeHead.flatMap(ELF.goArch))
    }

    /// The flattener for an image with Apptainer's runtime files added on top.
    static func makeFlattener(image: ResolvedImage, metadata: BuildMetadata) -> LayerFlattener {
        let layers = image.layers.map { layer in
            LayerInput(digest: layer.descriptor.digest.description, size: layer.descriptor.size,
                       diffID: layer.diffID?.description, mediaType: layer.descriptor.mediaType, path: layer.path)
        }
        let synthetic = metadata.runtimeEntries.map { entry -> SyntheticEntry in
            let kind: SyntheticEntry.Kind = switch entry.kind {
            case let .file(bytes): .file(contents: bytes)
            case .directory: .directory
            case let .symlink(target): .symlink(target: target)
            }
            let policy: SyntheticEntry.Policy = switch entry.policy {
            case .replace: .replace
            case .ifMissing: .ifAbsent
            case .ifMissingOrSymlink: .ifAbsentOrSymlink
            }
            return SyntheticEntry(path: entry.path, kind: kind, mode: entry.mode, mtime: metadata.time, policy: policy)
        }
        return LayerFlattener(layers: layers, options: FlattenOptions(
            imageName: image.sourceText, defaultTime: metadata.time, synthetic: synthetic, probePath: "bin/sh"))
    }
}

/// Reads the machine of an ELF header, as Apptainer's `ArchFromContainer` does for /bin/sh.
enum ELF {
    static func goArch(_ head: [UInt8]) -> String? {
        guard head.count >= 20, head.starts(with: [0x7F, 0x45, 0x4C, 0x46]) else { return nil }
        let is64 = head[4] == 2
        let littleEndian = head[5] == 1
        let machine = littleEndian ? UInt16(head[18]) | UInt16(head[19]) << 8 : UInt16(head[19]) | UInt16(head[18]) << 8
        switch machine {
        case 3: return "386"
        case 62: return "amd64"
        case 40: return "arm"
        case 183: return "arm64"
        case 21: return littleEndian ? "ppc64le" : "ppc64"
        case 22: return "s390x"
        case 243: return "riscv64"
        case 258: return "loong64"
        case 8: return is64 ? (littleEndian ? "mips64le" : "mips64") : (littleEndian ? "mipsle" : "mips")
        default: return nil
        }
    }
}
