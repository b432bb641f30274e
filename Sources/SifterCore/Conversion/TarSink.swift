import Foundation
import Rootfs

/// Where the flattened tree's tar stream goes. The stream tells the sink what its consumer
/// must know before the first byte (the root's metadata, the latest time in the tree); the
/// sink owns what only it can do: starting the consumer, waiting for it, and explaining a
/// failure in the consumer's own words.
protocol TarSink: AnyObject {
    /// The consumer reads a pax `linkpath` as it is (false: give long symlink targets as GNU
    /// long-link records instead).
    var readsPaxLinkTargetsExactly: Bool { get }
    /// Starts the consumer; returns the descriptor to write the stream into (the sink's).
    func start(root: RootMetadata, latestTime: Int64) throws -> Int32
    /// The stream is complete: waits for the consumer and throws its failure.
    func finish() throws
    /// Writing the stream failed with `error`: stops the consumer and returns the error that
    /// explains the failure best (the consumer's own when it stopped reading).
    func abandon(after error: any Error) -> any Error
}

/// A descriptor the caller owns (a file, standard output): nothing to start or wait for.
final class DescriptorSink: TarSink {
    let descriptor: Int32

    init(descriptor: Int32) { self.descriptor = descriptor }

    var readsPaxLinkTargetsExactly: Bool { true }

    func start(root: RootMetadata, latestTime: Int64) throws -> Int32 { descriptor }
    func finish() throws {}
    func abandon(after error: any Error) -> any Error { error }
}
