import SIF

extension InspectReport {
    /// The readable report: header summary, an object table in the layout of the reference
    /// `siftool list`, then the definition file and JSON objects. What comes from the file
    /// (names, the launch script, object texts) is printed with its control characters escaped
    /// (`TerminalText`): a name stays on its line, a text's lines stay indented.
    public func renderText() -> String {
        var lines: [String] = []
        lines.append("SIF file:    \(TerminalText.line(path))")
        lines.append("ID:          \(header.idString)")
        lines.append("Arch:        \(header.arch.goName)")
        lines.append("Created:     \(UnixTime.iso8601(header.createdAt))")
        lines.append("Modified:    \(UnixTime.iso8601(header.modifiedAt))")
        let used = header.descriptorsTotal - header.descriptorsFree
        lines.append("Objects:     \(used) of \(header.descriptorsTotal) descriptors used")
        lines.append("Data:        \(header.dataSize) bytes from offset \(header.dataOffset)")
        let sboms = objects.map(\.descriptor).filter { $0.dataType == .sbom }
        lines.append("SBOM:        " + (sboms.isEmpty ? "none" : sboms.map { d in
            "\(SBOMExtractor.sbomFormat(d).map(\.description) ?? "unknown") (object \(d.id) \"\(TerminalText.line(d.name))\", \(d.size) bytes)"
        }.joined(separator: "; ")))
        if !header.launchScript.isEmpty {
            lines.append("Launch:      \(TerminalText.line(header.launchScript.trimmingSuffixNewlines))")
        }
        lines.append("")
        let rule = String(repeating: "-", count: 78)
        lines.append(rule)
        lines.append("ID   |GROUP   |LINK    |SIF POSITION (start-end)  |TYPE")
        lines.append(rule)
        for object in objects {
            let d = object.descriptor
            let group = d.groupID.map(String.init) ?? "NONE"
            let link: String = switch d.link {
            case let .object(id)?: String(id)
            case let .group(id)?: "\(id)   (G)"
            case nil: "NONE"
            }
            let position = "\(d.offset)-\(d.offset + d.size)"
            lines.append(pad(String(d.id), 5) + "|" + pad(group, 8) + "|" + pad(link, 8) + "|" + pad(position, 26) + "|" + typeLabel(d))
        }
        for object in objects {
            guard let text = object.text else { continue }
            let d = object.descriptor
            let title = d.dataType == .deffile ? "Definition file" : "\(d.dataType) object"
            let name = d.name.isEmpty ? "" : " \"\(TerminalText.line(d.name))\""
            lines.append("")
            lines.append("\(title) (object \(d.id))\(name):")
            // Split at every LF scalar: a CR LF pair is one Character, which split(separator:)
            // would keep whole, line break included.
            let textLines = text.trimmingSuffixNewlines.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            lines.append(contentsOf: textLines.map { "  " + TerminalText.lines(String(String.UnicodeScalarView($0))) })
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private func typeLabel(_ d: Descriptor) -> String {
        switch d.metadata {
        case let .partition(fs, part, arch)?: "FS (\(fs)/\(part)/\(arch.goName))"
        case let .signature(hash, _)?: "Signature (\(hash))"
        case let .cryptoMessage(format, message)?: "Cryptographic Message (\(format)/\(message))"
        case let .sbom(format)?: "SBOM (\(format))"
        case let .ociDigest(digest)?: "\(d.dataType) (\(digest))"
        case nil: d.dataType.description
        }
    }
}

extension String {
    var trimmingSuffixNewlines: String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}

/// Unix seconds as RFC 3339 UTC text, proleptic Gregorian (so Go's zero time prints as year 1).
public enum UnixTime {
    public static func iso8601(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondsOfDay = seconds - days * 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(yearText)-\(two(month))-\(two(day))T\(two(secondsOfDay / 3600)):\(two(secondsOfDay % 3600 / 60)):\(two(secondsOfDay % 60))Z"
    }
}
