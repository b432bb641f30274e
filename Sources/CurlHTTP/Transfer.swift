import CCurl

/// State shared with the C callbacks for one `perform`. Passed to curl as an
/// unretained pointer; `perform` keeps it alive until curl returns and then
/// clears the pointers from the handle so none dangle.
final class TransferContext {
    let sink: (UnsafeRawBufferPointer) throws -> Void
    let source: ((UnsafeMutableRawBufferPointer) throws -> Int)?
    var headers = HeaderAccumulator()
    var bodyBytes: Int64 = 0
    /// The blank line ending the current response's header block has arrived (a header curl
    /// refuses as too large never reaches the callback, so this stays false).
    var headersComplete = false
    /// The first error thrown by a Swift closure; rethrown as-is by `perform`.
    var error: (any Error)?
    /// `CurlEasy.setAbortCheck`'s check.
    var abortCheck: (() -> Bool)?

    init(
        sink: @escaping (UnsafeRawBufferPointer) throws -> Void,
        source: ((UnsafeMutableRawBufferPointer) throws -> Int)?
    ) {
        self.sink = sink
        self.source = source
    }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> TransferContext? {
        pointer.map { Unmanaged<TransferContext>.fromOpaque($0).takeUnretainedValue() }
    }
}

let curlWriteCallback: curl_write_callback = { data, size, count, userdata in
    guard let context = TransferContext.from(userdata) else { return 0 }
    let total = size * count
    do {
        try context.sink(UnsafeRawBufferPointer(start: data, count: total))
        context.bodyBytes += Int64(total)
        return total
    } catch {
        context.error = error
        return sifter_curl_writefunc_error()
    }
}

let curlHeaderCallback: curl_write_callback = { data, size, count, userdata in
    guard let context = TransferContext.from(userdata) else { return 0 }
    let total = size * count
    let line = UnsafeRawBufferPointer(start: data, count: total)
    context.headers.consume(line)
    if line.starts(with: Array("HTTP/".utf8)) {
        context.headersComplete = false
    } else if line.allSatisfy({ $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }) {
        context.headersComplete = true
    }
    return total
}

let curlReadCallback: curl_read_callback = { buffer, size, count, userdata in
    guard let context = TransferContext.from(userdata), let buffer else { return sifter_curl_readfunc_abort() }
    guard let source = context.source else { return 0 }
    let capacity = size * count
    do {
        let produced = try source(UnsafeMutableRawBufferPointer(start: buffer, count: capacity))
        guard produced >= 0, produced <= capacity else {
            throw CurlError.uploadSourceOverflow(returned: produced, capacity: capacity)
        }
        return produced
    } catch {
        context.error = error
        return sifter_curl_readfunc_abort()
    }
}

let curlProgressCallback: curl_xferinfo_callback = { userdata, _, _, _, _ in
    guard let context = TransferContext.from(userdata), let check = context.abortCheck else { return 0 }
    return check() ? 1 : 0
}
