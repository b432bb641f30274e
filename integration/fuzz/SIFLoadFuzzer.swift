// libFuzzer target for the SIF reader: every input is written to a file and loaded; anything
// that loads is fully walked (selection, streaming every object). Compiled together with
// Sources/SIF by integration/fuzz.sh.
#if canImport(Glibc)
import Glibc
#endif

private let scratchPath: String = {
    let directory = String(cString: getenv("TMPDIR") ?? strdup("/tmp"))
    return directory + "/sif-fuzz-\(getpid()).sif"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSIFLoad(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let fd = open(scratchPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return 0 }
    _ = write(fd, data, size)
    close(fd)
    guard let image = try? SIFImage.load(path: scratchPath) else { return 0 }
    _ = image.descriptors(matching: [.dataType(.partition)])
    _ = try? image.descriptor(matching: [.partitionType(.primarySystem)])
    for descriptor in image.descriptors {
        _ = descriptor.metadata
        _ = descriptor.name
        var reader = image.reader(for: descriptor)
        try? reader.forEachChunk(chunkSize: 4096) { _ in }
    }
    _ = image.header.idString
    try? image.close()
    return 0
}
