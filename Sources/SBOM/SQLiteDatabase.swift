import CSQLite

/// A SQLite failure in SQLite's own words (the one error funnel of this C library).
struct SQLiteError: Error, CustomStringConvertible {
    var operation: String
    var message: String

    var description: String { "\(operation): \(message)" }
}

/// A SQLite database file opened read-only and immutable: SQLite takes no lock and creates no
/// `-wal` or `-shm` file beside it, and nothing is ever written. The handle is closed on deinit.
final class SQLiteDatabase {
    private var handle: OpaquePointer?

    init(path: String) throws(SQLiteError) {
        // A URI, so `immutable=1` applies; `%`, `?` and `#` in the path must then be escaped.
        var uri = "file:"
        for character in path {
            switch character {
            case "%": uri += "%25"
            case "?": uri += "%3f"
            case "#": uri += "%23"
            default: uri.append(character)
            }
        }
        uri += "?immutable=1"
        let status = sqlite3_open_v2(uri, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nil)
        guard status == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_close_v2(handle)
            handle = nil
            throw SQLiteError(operation: "open", message: message)
        }
        // What a hostile file can make a reader do: nothing beyond plain reads.
        _ = sifter_sqlite3_db_config_flag(handle, SQLITE_DBCONFIG_DEFENSIVE, 1)
        _ = sifter_sqlite3_db_config_flag(handle, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs `sql`, calling `row` for each result row until it returns false.
    func query(_ sql: String, row: (Row) throws -> Bool) throws {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else {
            throw SQLiteError(operation: "prepare", message: String(cString: sqlite3_errmsg(handle)))
        }
        defer { sqlite3_finalize(statement) }
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return }
            guard status == SQLITE_ROW else {
                throw SQLiteError(operation: "read", message: String(cString: sqlite3_errmsg(handle)))
            }
            guard try row(Row(statement: statement)) else { return }
        }
    }

    /// One result row; valid only inside the `query` callback.
    struct Row {
        let statement: OpaquePointer?

        func int(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

        func text(_ column: Int32) -> String? {
            sqlite3_column_text(statement, column).map { String(cString: $0) }
        }

        /// The blob's length, without reading it.
        func length(_ column: Int32) -> Int { Int(sqlite3_column_bytes(statement, column)) }

        func blob(_ column: Int32) -> [UInt8] {
            let count = Int(sqlite3_column_bytes(statement, column))
            guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return [] }
            return Array(UnsafeRawBufferPointer(start: bytes, count: count))
        }
    }
}
