/// rpm's sqlite backend (rpm 4.16 and later; Fedora 33+, RHEL 9, openSUSE): one row per
/// installed package in `Packages(hnum, blob)`, the blob an rpm header.
enum RPMDatabase {
    /// Reads the database spooled at `path` (`location` names it in the image), passing each
    /// package to `add` until it returns false. Returns what could not be read, as warnings:
    /// the image's database is the image's business, so nothing here fails the build.
    static func read(path: String, location: String, headerLimit: Int, add: (InstalledPackage) -> Bool) -> [String] {
        var warnings: [String] = []
        var malformed: [String] = []
        do {
            let database = try SQLiteDatabase(path: path)
            var kind: String?
            try database.query("SELECT type FROM sqlite_master WHERE name = 'Packages'") { row in
                kind = row.text(0)
                return false
            }
            // A view could make reading it cost anything; rpm writes a plain table.
            guard kind == "table" else {
                return ["\(location): no Packages table (\(kind ?? "none")): not an rpm database, its packages are not listed"]
            }
            try database.query("SELECT hnum, blob FROM Packages ORDER BY hnum") { row in
                let number = row.int(0)
                guard row.length(1) <= headerLimit else {
                    malformed.append("header \(number) is \(row.length(1)) bytes, over the \(headerLimit)-byte limit")
                    return true
                }
                do {
                    if let package = try RPMHeader(blob: row.blob(1)).package(location: location) {
                        return add(package)
                    }
                } catch {
                    malformed.append("header \(number): \(error)")
                }
                return true
            }
        } catch {
            warnings.append("\(location): not a readable rpm database (\(error)); its packages are not listed")
        }
        if !malformed.isEmpty {
            let shown = malformed.prefix(5).joined(separator: "; ")
            let more = malformed.count > 5 ? " and \(malformed.count - 5) more" : ""
            warnings.append("\(location): \(malformed.count) package headers not listed: \(shown)\(more)")
        }
        return warnings
    }
}
