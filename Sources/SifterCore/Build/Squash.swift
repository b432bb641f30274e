import ArchiveIO
import Distribution
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
        /// Why the one-pass stream was given up for the two passes, if it was.
        var onePassAbandoned: String?
    }

    /// One pass when it can (each layer read once, top down, mksquashfs fed from the start);
    /// else, or when that pass gives up, the two passes (index every layer, then stream).
    /// `stage` marks the end of each step for the timings: "guess", then "squash"; or
    /// "guess", "abandoned", "index", "squash".
    static func run(image: ResolvedImage, metadata: BuildMetadata, output: String, offset: Int64,
                    options: MksquashfsOptions, stage: (String) -> Void = { _ in }) throws -> Outcome {
        let flattener = makeFlattener(image: image, metadata: metadata)
        var abandoned: String?
        // The root's time is set in the image afterwards, which only gzip images support.
        // SIFTER_ONE_PASS=0 forces the two passes (to compare, or to rule the one pass out).
        let onePassAllowed = ProcessInfo.processInfo.environment["SIFTER_ONE_PASS"] != "0"
        if onePassAllowed, options.compression == "gzip", let guess = flattener.onePassGuess() {
            stage("guess")
            // No SOURCE_DATE_EPOCH: it would lower later times to it, and the latest time
            // is known only at the end; mksquashfs stamps the root with the clock instead,
            // and the patch below puts the latest time there and in the superblock.
            let process = try MksquashfsProcess(
                output: output, offset: offset,
                options: rooted(options, mode: guess.root.mode, uid: guess.root.uid, gid: guess.root.gid, epoch: nil))
            let result: OnePassResult
            do {
                result = try flattener.write(guess: guess, toFileDescriptor: process.input)
            } catch {
                process.abort()
                throw error
            }
            switch result {
            case let .written(summary):
                try process.finish()
                try RootTimePatch.apply(path: output, offset: offset, time: UInt32(clamping: max(0, summary.latestTime)))
                return Outcome(summary: summary, shellArch: summary.probeHead.flatMap(ELF.goArch))
            case let .abandoned(reason):
                // mksquashfs is stopped; the next one truncates what it wrote (-noappend).
                process.abort()
                abandoned = reason
                stage("abandoned")
            }
        } else {
            abandoned = !onePassAllowed ? "SIFTER_ONE_PASS=0"
                : options.compression == "gzip" ? "a layer could not be opened" : "\(options.compression) compression"
        }

        let prepared = try flattener.prepare()
        stage("index")
        let process = try MksquashfsProcess(
            output: output, offset: offset,
            options: rooted(options, mode: prepared.root.mode, uid: prepared.root.uid, gid: prepared.root.gid,
                            epoch: prepared.latestTime))
        let summary: FlattenSummary
        do {
            summary = try flattener.write(prepared, toFileDescriptor: process.input)
        } catch {
            process.abort()
            throw error
        }
        try process.finish()
        return Outcome(summary: summary, shellArch: summary.probeHead.flatMap(ELF.goArch), onePassAbandoned: abandoned)
    }

    /// `options` with the root's metadata and SOURCE_DATE_EPOCH.
    private static func rooted(_ options: MksquashfsOptions, mode: UInt32, uid: Int64, gid: Int64, epoch: Int64?) -> MksquashfsOptions {
        var options = options
        // Apptainer adds u+w to a root directory that lacks it.
        options.rootMode = mode | 0o200
        options.rootUID = UInt32(clamping: uid)
        options.rootGID = UInt32(clamping: gid)
        options.sourceDateEpoch = epoch
        return options
    }

    /// The flattener for an image with Apptainer's runtime files added on top.
    static func makeFlattener(image: ResolvedImage, metadata: BuildMetadata) -> LayerFlattener {
        let layers = image.layers.map { layer in
            LayerInput(digest: layer.descriptor.digest.description, size: layer.descriptor.size,
                       diffID: layer.diffID?.description, mediaType: layer.descriptor.mediaType, path: layer.path,
                       growing: layer.arrival.map(growingFile))
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
            case .replaceThroughSymlink: .replaceThroughSymlink
            case let .replaceKeepingHistory(directory, prefix): .replaceKeepingHistory(directory: directory, prefix: prefix)
            }
            return SyntheticEntry(path: entry.path, kind: kind, mode: entry.mode, mtime: metadata.time, policy: policy)
        }
        return LayerFlattener(layers: layers, options: FlattenOptions(
            imageName: image.sourceText, defaultTime: metadata.time, synthetic: synthetic, probePath: "bin/sh"))
    }
}

/// A blob still downloading, as the flattener reads it.
private func growingFile(_ arrival: BlobArrival) -> GrowingFile {
    GrowingFile(
        size: arrival.size,
        open: {
            let opened = try arrival.openForReading()
            return (opened.fd, opened.verifiedByDownload)
        },
        readable: { try arrival.readable(beyond: $0) },
        confirm: { try arrival.confirm() })
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
