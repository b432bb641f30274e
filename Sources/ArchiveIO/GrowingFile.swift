/// A file another thread is still writing (a blob being downloaded), read as it grows.
///
/// The reader never reads past what `readable` allows, so it never sees bytes that are not
/// yet written; whether what it read is what was finally verified is the writer's to say.
public struct GrowingFile: Sendable {
    /// The size the file will have when complete.
    public var size: Int64
    /// Opens the file for reading (waits until its writer has begun). `verifiedByWriter`: the
    /// writer is checking this very content's digest, so the reader need not hash it (false
    /// for a file that was already complete, which the reader must check itself).
    public var open: @Sendable () throws -> (fd: Int32, verifiedByWriter: Bool)
    /// Blocks until more than `offset` bytes may be read, or the file is complete; returns
    /// how many bytes may be read. Throws when the writer failed.
    public var readable: @Sendable (_ offset: Int64) throws -> Int64
    /// Waits until the writer is done. True when the file was verified complete and no byte
    /// a reader was allowed to read has been overwritten since; throws the writer's failure.
    public var confirm: @Sendable () throws -> Bool

    public init(size: Int64, open: @escaping @Sendable () throws -> (fd: Int32, verifiedByWriter: Bool),
                readable: @escaping @Sendable (_ offset: Int64) throws -> Int64,
                confirm: @escaping @Sendable () throws -> Bool) {
        self.size = size
        self.open = open
        self.readable = readable
        self.confirm = confirm
    }
}
