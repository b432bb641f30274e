/// The cleartext signature framework (RFC 4880 §7), byte for byte as the reference
/// implementation (ProtonMail go-crypto `clearsign`) writes and reads it.
public struct ClearSignedMessage: Sendable {
    /// Values of the `Hash:` armor headers (unverified: the signature packet says the hash).
    public var hashHeaders: [String]
    /// The text as it was signed: lines joined by CRLF, trailing spaces and tabs dropped,
    /// dash-escapes removed, no final line break.
    public var signedText: [UInt8]
    /// The text as written, dash-escapes removed, each line ending in LF.
    public var plaintext: [UInt8]
    /// The signature packets of the armored `PGP SIGNATURE` block.
    public var signature: ArmorBlock

    static let begin = Array("-----BEGIN PGP SIGNED MESSAGE-----".utf8)
    static let signatureBegin = Array("-----BEGIN PGP SIGNATURE-----".utf8)

    /// The first clear-signed message in `data`; nil when there is none (go-crypto's `Decode`).
    public static func decode(_ data: [UInt8]) -> ClearSignedMessage? {
        var lines = splitLines(data)
        guard let start = lines.firstIndex(where: { $0 == begin }) else { return nil }
        lines.removeFirst(start + 1)
        var hashes: [String] = []
        var index = 0
        // Headers: only `Hash`, printable ASCII only, up to a blank line.
        while true {
            guard index < lines.count else { return nil }
            let line = lines[index]
            index += 1
            if line.isEmpty { break }
            guard line.allSatisfy({ (0x20...0x7E).contains($0) }), let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            let key = String(decoding: line[..<colon], as: UTF8.self).trimmingSpaces
            guard key == "Hash" else { return nil }
            let values = String(decoding: line[(colon + 1)...], as: UTF8.self).split(separator: ",", omittingEmptySubsequences: false)
            hashes += values.map { String($0).trimmingSpaces }
        }
        var signed: [UInt8] = []
        var plain: [UInt8] = []
        var first = true
        while true {
            guard index < lines.count else { return nil }
            var line = lines[index]
            index += 1
            if line == signatureBegin { break }
            if !first { signed += [0x0D, 0x0A] }
            first = false
            if line.starts(with: [UInt8(ascii: "-"), UInt8(ascii: " ")]) { line.removeFirst(2) }
            while let last = line.last, last == 0x20 || last == 0x09 { line.removeLast() }
            signed += line
            plain += line + [0x0A]
        }
        let armored = Array(([signatureBegin] + lines[index...]).joined(separator: [0x0A]))
        guard let blocks = try? Armor.decodeAll(armored), let block = blocks.first, block.type == "SIGNATURE" else { return nil }
        return ClearSignedMessage(hashHeaders: hashes, signedText: signed, plaintext: plain, signature: block)
    }

    /// Lines split at LF, a CR before the LF dropped (go-crypto's `getLine`).
    private static func splitLines(_ data: [UInt8]) -> [[UInt8]] {
        data.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            line.last == 0x0D ? Array(line.dropLast()) : Array(line)
        }
    }

    /// The clear-signed form of `text` and the bytes its signature covers (go-crypto's
    /// `dashEscaper`): lines starting with `-` are escaped, trailing whitespace (spaces, tabs,
    /// CR) is dropped from the output and the hash, lines hash as joined by CRLF.
    static func frame(_ text: [UInt8]) -> (body: [UInt8], signed: [UInt8]) {
        var body: [UInt8] = []
        var signed: [UInt8] = []
        let lines = text.split(separator: 0x0A, omittingEmptySubsequences: false)
        for (number, rawLine) in lines.enumerated() {
            let isLast = number == lines.count - 1
            if isLast && rawLine.isEmpty { break }  // the text ended with a line break
            var line = Array(rawLine)
            while let last = line.last, last == 0x20 || last == 0x09 || last == 0x0D { line.removeLast() }
            if number > 0 { signed += [0x0D, 0x0A] }
            signed += line
            if line.first == UInt8(ascii: "-") { body += Array("- ".utf8) }
            body += line + [0x0A]
        }
        return (body, signed)
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while scalars.first == " " || scalars.first == "\t" { scalars.removeFirst() }
        while scalars.last == " " || scalars.last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
