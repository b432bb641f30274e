#if canImport(Glibc)
import Glibc
#endif

/// The lines of a byte stream that arrives in pieces. Each line keeps at most `lineLimit`
/// bytes (the rest of a longer line is dropped: every field read from a package database is
/// short), so memory is bounded whatever the file holds. A trailing CR is removed.
struct LineSplitter {
    let lineLimit: Int
    private var line: [UInt8] = []

    init(lineLimit: Int) {
        self.lineLimit = lineLimit
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ each: ([UInt8]) -> Void) {
        guard let base = bytes.baseAddress else { return }
        var start = 0
        while start < bytes.count {
            guard let found = memchr(base + start, 0x0A, bytes.count - start) else {
                append(UnsafeRawBufferPointer(start: base + start, count: bytes.count - start))
                return
            }
            let end = base.distance(to: UnsafeRawPointer(found))
            append(UnsafeRawBufferPointer(start: base + start, count: end - start))
            emit(each)
            start = end + 1
        }
    }

    /// The last line, when the stream does not end with a newline.
    mutating func finish(_ each: ([UInt8]) -> Void) {
        if !line.isEmpty { emit(each) }
    }

    private mutating func append(_ part: UnsafeRawBufferPointer) {
        let room = lineLimit - line.count
        if room > 0 { line.append(contentsOf: part.prefix(room)) }
    }

    private mutating func emit(_ each: ([UInt8]) -> Void) {
        if line.last == 0x0D { line.removeLast() }
        each(line)
        line.removeAll(keepingCapacity: true)
    }
}

/// Stanzas of `Field: value` lines separated by blank lines: dpkg's status (deb822), a Python
/// METADATA header (RFC 822), apk's installed database (`K:value`). Only the wanted fields
/// are kept, each value cut at `valueLimit` bytes; a continuation line (starting with a space
/// or tab) continues the field before it, joined with a newline.
struct StanzaParser {
    /// Field names are compared in lower case (deb822, RFC 822); apk's one-letter keys are not
    /// (`P` is the name, `p` what the package provides).
    let caseInsensitive: Bool
    let wanted: Set<String>
    let valueLimit: Int
    private var fields: [String: String] = [:]
    private var continuing: String?
    private var started = false

    init(wanted: Set<String>, caseInsensitive: Bool, valueLimit: Int = 4096) {
        self.wanted = wanted
        self.caseInsensitive = caseInsensitive
        self.valueLimit = valueLimit
    }

    /// Takes one line; returns the stanza a blank line ends.
    mutating func take(_ line: [UInt8]) -> [String: String]? {
        guard line.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return finish() }
        started = true
        if line[0] == 0x20 || line[0] == 0x09 {
            if let key = continuing, let value = fields[key], value.utf8.count < valueLimit {
                fields[key] = String(decoding: Array((value + "\n").utf8) + trimmed(line[...]), as: UTF8.self)
            }
            return nil
        }
        continuing = nil
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        var key = String(decoding: line[..<colon], as: UTF8.self)
        if caseInsensitive { key = key.lowercased() }
        guard wanted.contains(key) else { return nil }
        fields[key] = String(decoding: trimmed(line[(colon + 1)...]).prefix(valueLimit), as: UTF8.self)
        continuing = key
        return nil
    }

    /// Ends the current stanza (a blank line, or the end of the file).
    mutating func finish() -> [String: String]? {
        defer {
            fields = [:]
            continuing = nil
            started = false
        }
        return started ? fields : nil
    }

    private func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return []
        }
        return bytes[first...last]
    }
}
