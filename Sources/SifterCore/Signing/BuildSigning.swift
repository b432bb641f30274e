import Foundation
import Hashing
import OpenPGP
import SIF

/// `build --sign-key` and `convert --sign-key`: the finished SIF (integrity record included)
/// is signed before it is renamed into place, so a signed output appears whole or not at all.
enum BuildSigning {
    /// Signs the file at `path` (one signature per group, as `sifter sign`), stamping the new
    /// descriptors with the build's `buildTime` and the signature with the clock (a signature
    /// must not predate its key); returns the sha256 of the signed file.
    static func sign(_ path: String, with key: SigningKey, buildTime: Int64) throws -> SHA256Digest {
        let now = Int64(Date().timeIntervalSince1970)
        _ = try SIFSigner.sign(path: path, with: key, options: SignOptions(signatureTime: now, sifTime: buildTime))
        return try SHA256.hash(fileAt: path)
    }
}
