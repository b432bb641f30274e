import Foundation
import OCISpec

/// `sifter export`: the flattened tree (Apptainer's files included) as one uncompressed tar,
/// exactly the stream `build` feeds mksquashfs; for inspection and for measuring mksquashfs
/// alone on the same input.
public enum Exporter {
    /// `output` "-" is standard output, written in the two passes: a one-pass attempt that
    /// gives up could not take back what it wrote to a pipe.
    public static func export(source: any ImageSource, platform: Platform, output: String, replace: Bool) throws {
        let image = try source.resolve(platform: platform)
        let time = image.config.created.flatMap(RFC3339.parse) ?? 0
        let metadata = try BuildMetadata(image: image, time: time)
        let flattener = Squash.makeFlattener(image: image, metadata: metadata)
        if output == "-" {
            try flattener.write(toFileDescriptor: STDOUT_FILENO)
            return
        }
        try AtomicOutput(destination: output, replace: replace).write { temporary in
            let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SifterError.io(path: temporary, operation: "open", reason: String(cString: strerror(errno))) }
            defer { close(fd) }
            // The stream build feeds mksquashfs: one pass when it works, else the two passes.
            if let guess = flattener.onePassGuess(), case .written = try flattener.write(guess: guess, toFileDescriptor: fd) {
                return
            }
            guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
                throw SifterError.io(path: temporary, operation: "truncate", reason: String(cString: strerror(errno)))
            }
            try flattener.write(toFileDescriptor: fd)
        }
    }
}
