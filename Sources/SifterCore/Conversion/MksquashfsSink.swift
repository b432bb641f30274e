import Foundation
import Rootfs
import Squashfs

/// The build's sink: mksquashfs reading the tar stream and writing the squashfs partition in
/// place inside the SIF being written. What it does with the root directory is decided by
/// the version probed before the build (see `MksquashfsVersion`), never by a failure.
final class MksquashfsSink: TarSink {
    let output: String
    let offset: Int64
    let options: MksquashfsOptions
    let version: MksquashfsVersion
    private(set) var process: MksquashfsProcess?
    /// What the run could not do exactly, for the build's warnings.
    private(set) var warnings: [String] = []

    init(output: String, offset: Int64, options: MksquashfsOptions, version: MksquashfsVersion) {
        self.output = output
        self.offset = offset
        self.options = options
        self.version = version
    }

    var readsPaxLinkTargetsExactly: Bool { version.readsPaxLinkTargetsExactly }

    func start(root: RootMetadata, latestTime: Int64) throws -> Int32 {
        // squashfs holds unsigned 32-bit times and ids.
        let time = UInt32(clamping: max(0, latestTime))
        let squashRoot = SquashfsRoot(
            // Apptainer adds u+w to a root directory that lacks it.
            mode: root.mode | 0o200, uid: UInt32(clamping: root.uid), gid: UInt32(clamping: root.gid), time: time)
        if !version.setsRootOwnerAndTimeInTarMode, Int64(time) > Int64(Date().timeIntervalSince1970) {
            warnings.append("the image has times in the future (latest \(UnixTime.iso8601(Int64(time)))); mksquashfs "
                + "\(version) stamps the root directory with the current time instead, so this SIF is not reproducible "
                + "(squashfs-tools 4.6 or later sets it exactly)")
        }
        let process = try MksquashfsProcess(output: output, offset: offset, options: options, root: squashRoot, version: version)
        self.process = process
        return process.input
    }

    func finish() throws {
        try process?.finish()
    }

    func abandon(after error: any Error) -> any Error {
        guard let process else { return error }
        // A failed write into the pipe means mksquashfs stopped reading: its reason wins.
        var consumerSuspected = false
        if case .outputFailed? = error as? RootfsError { consumerSuspected = true }
        return process.stop(consumerSuspected: consumerSuspected) ?? error
    }

    /// What ran, for provenance: mksquashfs's arguments (the output file named `OUTPUT`) and
    /// the environment that changes its output. A user-namespace wrapper, which only sets the
    /// owner mksquashfs runs as, is left out so that builds with and without root record the
    /// same.
    var record: (arguments: [String], environment: [String: String])? {
        guard let process else { return nil }
        return (process.mksquashfsArguments.map { $0 == output ? "OUTPUT" : $0 }, process.outputEnvironment)
    }
}
