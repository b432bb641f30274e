import COpenSSL
import Foundation

/// Owns one `EVP_MD_CTX`; freed exactly once in `deinit`.
final class DigestContext {
    let ctx: OpaquePointer

    init() throws {
        guard let ctx = EVP_MD_CTX_new() else {
            throw HashingError.fromOpenSSL("EVP_MD_CTX_new")
        }
        guard EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1 else {
            let error = HashingError.fromOpenSSL("EVP_DigestInit_ex")
            EVP_MD_CTX_free(ctx)
            throw error
        }
        self.ctx = ctx
    }

    /// Duplicates the running state so copies of a hasher diverge independently.
    init(copying other: DigestContext) throws {
        guard let ctx = EVP_MD_CTX_new() else {
            throw HashingError.fromOpenSSL("EVP_MD_CTX_new")
        }
        guard EVP_MD_CTX_copy_ex(ctx, other.ctx) == 1 else {
            let error = HashingError.fromOpenSSL("EVP_MD_CTX_copy_ex")
            EVP_MD_CTX_free(ctx)
            throw error
        }
        self.ctx = ctx
    }

    deinit { EVP_MD_CTX_free(ctx) }
}

/// Streaming SHA-256 over OpenSSL EVP with value semantics: copying a hasher
/// and updating both copies gives two independent digests (copy-on-write).
///
/// `update` and `finalize` do not throw: once `init` has set up the SHA-256
/// context, OpenSSL can only fail there on memory exhaustion or a corrupted
/// context, which are invariant violations rather than input errors.
public struct SHA256Hasher {
    // @unchecked: the context is only mutated after a uniqueness check, the
    // same discipline the standard library's copy-on-write collections use.
    private var context: DigestContext

    /// Prepares a fresh SHA-256 context; throws if OpenSSL cannot provide one.
    public init() throws {
        context = try DigestContext()
    }

    /// Feeds bytes into the digest.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if !isKnownUniquelyReferenced(&context) {
            context = Self.must { try DigestContext(copying: context) }
        }
        guard EVP_DigestUpdate(context.ctx, base, bytes.count) == 1 else {
            preconditionFailure("\(HashingError.fromOpenSSL("EVP_DigestUpdate"))")
        }
    }

    /// Feeds bytes into the digest.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Feeds bytes into the digest.
    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    /// Feeds the UTF-8 encoding of a string into the digest.
    public mutating func update(_ string: String) {
        update(Array(string.utf8))
    }

    /// Returns the digest of everything fed so far. The hasher is left
    /// untouched (finalisation runs on a copy), so it may be fed further.
    public func finalize() -> SHA256Digest {
        let scratch = Self.must { try DigestContext(copying: context) }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = out.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(scratch.ctx, $0.baseAddress, &length) }
        guard ok == 1, Int(length) == SHA256Digest.byteCount else {
            preconditionFailure("\(HashingError.fromOpenSSL("EVP_DigestFinal_ex"))")
        }
        return Self.must { try SHA256Digest(bytes: Array(out.prefix(Int(length)))) }
    }

    private static func must<T>(_ body: () throws -> T) -> T {
        do {
            return try body()
        } catch {
            preconditionFailure("\(error)")
        }
    }
}
