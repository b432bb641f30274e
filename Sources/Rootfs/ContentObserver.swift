/// Sees the content of chosen regular files of the final tree while pass 2 writes them, so a
/// consumer (the SBOM's package databases) reads them without another pass over the layers.
/// Every regular file is offered once, after whiteouts, replacements and hard links are
/// resolved: what is offered is exactly what the output holds. Calls come from the thread
/// running `LayerFlattener.write`, one file at a time.
public protocol ContentObserver: AnyObject {
    /// Whether the content of the file about to be written is wanted. `paths` are all its names
    /// in the final tree (relative to the root, `/`-separated, raw bytes; hard links included,
    /// the first is where the content is written); directories met on the way are real
    /// directories, never symlinks. Called for every regular file: it must be cheap.
    func wantsContent(of paths: [[UInt8]]) -> Bool
    /// The next bytes of the wanted file, in order (holes of a sparse file as zeros). Returns
    /// false when it needs no more of this file; `endOfContent` is called all the same.
    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// The wanted file is complete (or the observer asked for no more of it).
    func endOfContent()
}
