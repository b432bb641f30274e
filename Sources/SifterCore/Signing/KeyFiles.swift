import Foundation
import OpenPGP

/// Reading OpenPGP key files from disk: regular files of bounded size only (a FIFO or device
/// would block, a huge file is no key).
public enum KeyFiles {
    static let sizeLimit = 4 << 20

    public static func read(_ path: String) throws -> [UInt8] {
        var status = stat()
        guard stat(path, &status) == 0 else { throw SigningError.keyFile(path: path, reason: String(cString: strerror(errno))) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw SigningError.keyFile(path: path, reason: "not a regular file") }
        guard status.st_size <= sizeLimit else { throw SigningError.keyFile(path: path, reason: "\(status.st_size) bytes, more than a key file holds") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SigningError.keyFile(path: path, reason: String(cString: strerror(errno)))
        }
        return [UInt8](data)
    }

    /// The secret key in `path`, unlocked; `passphrase` is called only for a protected key.
    public static func signingKey(_ path: String, passphrase: () throws -> [UInt8]?) throws -> SigningKey {
        var bytes = try read(path)
        defer { for index in bytes.indices { bytes[index] = 0 } }
        do {
            return try SigningKey.load(bytes, now: UInt32(clamping: Int64(Date().timeIntervalSince1970)), passphrase: passphrase)
        } catch let error as OpenPGPError {
            // Damage is named with the file; a passphrase or key problem speaks for itself.
            switch error {
            case .armor, .malformed: throw SigningError.keyFileContent(path: path, reason: error.description)
            default: throw error
            }
        }
    }

    /// The public keys of every file (public or secret key files, or `gpg --export` keyrings).
    public static func keyring(_ paths: [String]) throws -> Keyring {
        var entities: [KeyEntity] = []
        for path in paths {
            do {
                entities += try KeyEntity.read(try read(path))
            } catch let error as OpenPGPError {
                throw SigningError.keyFileContent(path: path, reason: error.description)
            }
        }
        return Keyring(entities: entities)
    }
}
