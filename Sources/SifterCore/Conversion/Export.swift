import Foundation
import OCISpec

/// `sifter export`: the flattened tree (Apptainer's files included) as one uncompressed tar,
/// exactly the stream `build` feeds mksquashfs; for inspection and for measuring mksquashfs
/// alone on the same input.
public enum Exporter {
    /// `output` "-" is standard output.
    public static func export(source: any ImageSource, platform: Platform, output: String, replace: Bool,
                              workers: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        let image = try source.resolve(platform: platform)
        let time = image.config.created.flatMap(RFC3339.parse) ?? 0
        let metadata = try BuildMetadata(image: image, time: time)
        if output == "-" {
            _ = try FlattenStage.stream(image: image, metadata: metadata, into: DescriptorSink(descriptor: STDOUT_FILENO),
                                        workers: workers)
            return
        }
        try AtomicOutput(destination: output, replace: replace).write { temporary in
            let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SifterError.io(path: temporary, operation: "open", reason: String(cString: strerror(errno))) }
            defer { close(fd) }
            _ = try FlattenStage.stream(image: image, metadata: metadata, into: DescriptorSink(descriptor: fd), workers: workers)
        }
    }
}
