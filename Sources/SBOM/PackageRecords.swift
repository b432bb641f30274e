/// The text package databases: one stanza (or header) becomes one package.
enum DpkgRecord {
    static let fields: Set<String> = ["package", "version", "architecture", "status", "source"]
    /// `Status` states in which the package's files are on disk (`dpkg-query -W` also lists
    /// `config-files`, a removed package of which only configuration files are left).
    static let presentStates: Set<Substring> = [
        "installed", "half-installed", "unpacked", "half-configured", "triggers-awaited", "triggers-pending",
    ]

    /// A stanza of dpkg's status (or of a distroless `status.d/` file, which has no `Status`).
    static func package(_ fields: [String: String], location: String) -> InstalledPackage? {
        guard let name = fields["package"], !name.isEmpty, let version = fields["version"], !version.isEmpty else {
            return nil
        }
        if let status = fields["status"] {
            let words = status.split(separator: " ")
            guard words.count == 3, presentStates.contains(words[2]) else { return nil }
        }
        // `Source: gcc-12 (12.2.0-14)`: the source package's name, then its version if it differs.
        let upstream = fields["source"]?.split(separator: " ").first.map(String.init)
        return InstalledPackage(ecosystem: .deb, name: name, version: version,
                                architecture: fields["architecture"].flatMap { $0.isEmpty ? nil : $0 },
                                upstream: upstream, location: location)
    }
}

/// apk's `lib/apk/db/installed`: `P:` name, `V:` version, `A:` architecture, `L:` license,
/// `o:` origin (the source package), one block per package.
enum ApkRecord {
    static let fields: Set<String> = ["P", "V", "A", "L", "o"]

    static func package(_ fields: [String: String], location: String) -> InstalledPackage? {
        guard let name = fields["P"], !name.isEmpty, let version = fields["V"], !version.isEmpty else { return nil }
        return InstalledPackage(ecosystem: .apk, name: name, version: version,
                                architecture: fields["A"].flatMap { $0.isEmpty ? nil : $0 },
                                license: fields["L"].flatMap { $0.isEmpty ? nil : $0 },
                                upstream: fields["o"], location: location)
    }
}

/// A Python distribution's `*.dist-info/METADATA` header (core metadata: RFC 822 fields up to
/// the first blank line; the description after it is never read).
enum PythonRecord {
    static let fields: Set<String> = ["name", "version", "license", "license-expression"]

    static func package(_ fields: [String: String], location: String) -> InstalledPackage? {
        guard let name = fields["name"], !name.isEmpty, let version = fields["version"], !version.isEmpty else {
            return nil
        }
        return InstalledPackage(ecosystem: .pypi, name: name, version: version, license: license(fields),
                                location: location)
    }

    /// `License-Expression` (metadata 2.4), else a one-line `License` (many hold the whole
    /// license text, which is no license name).
    static func license(_ fields: [String: String]) -> String? {
        if let expression = fields["license-expression"], !expression.isEmpty { return expression }
        guard let license = fields["license"], !license.isEmpty, !license.contains("\n"), license.utf8.count <= 200,
              license.uppercased() != "UNKNOWN" else { return nil }
        return license
    }
}

/// `/etc/os-release` (or `/usr/lib/os-release`): shell-style `KEY=value` lines.
enum OSRelease {
    static func parse(_ bytes: [UInt8]) -> OperatingSystem {
        var values: [String: String] = [:]
        for line in bytes.split(separator: 0x0A) {
            let text = String(decoding: line, as: UTF8.self).trimmingSpaces
            guard !text.hasPrefix("#"), let equals = text.firstIndex(of: "=") else { continue }
            let key = String(text[..<equals])
            var value = Substring(text[text.index(after: equals)...])
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = value.dropFirst().dropLast()
            }
            values[key] = String(value).replacingEscapes
        }
        let usable = { (key: String) in values[key].flatMap { $0.isEmpty ? nil : $0 } }
        return OperatingSystem(id: usable("ID"), versionID: usable("VERSION_ID"))
    }
}

extension String {
    var trimmingSpaces: String {
        let scalars = unicodeScalars.drop { $0 == " " || $0 == "\t" || $0 == "\r" }
        var text = String(scalars)
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text.removeLast() }
        return text
    }

    /// os-release's backslash escapes (`\"`, `\\`, `\$`, `` \` ``).
    var replacingEscapes: String {
        var out = ""
        var escaped = false
        for character in self {
            if escaped || character != "\\" {
                out.append(character)
                escaped = false
            } else {
                escaped = true
            }
        }
        return out
    }
}
