import COpenSSL

/// The digest algorithms sifter computes: those OpenPGP signatures use (RFC 4880 §9.4) and the
/// SHA-512 truncations the SIF integrity metadata may name.
public enum DigestAlgorithm: String, Sendable, CaseIterable {
    case sha1, sha224, sha256, sha384, sha512
    case sha512_224, sha512_256

    /// The algorithm's number in OpenPGP packets; nil for those OpenPGP has none for.
    public var openPGPID: UInt8? {
        switch self {
        case .sha1: 2
        case .sha256: 8
        case .sha384: 9
        case .sha512: 10
        case .sha224: 11
        case .sha512_224, .sha512_256: nil
        }
    }

    public init?(openPGPID: UInt8) {
        guard let found = Self.allCases.first(where: { $0.openPGPID == openPGPID }) else { return nil }
        self = found
    }

    /// The name in a cleartext signature's `Hash:` header (RFC 4880 §9.4).
    public var armorName: String? {
        switch self {
        case .sha1: "SHA1"
        case .sha224: "SHA224"
        case .sha256: "SHA256"
        case .sha384: "SHA384"
        case .sha512: "SHA512"
        case .sha512_224, .sha512_256: nil
        }
    }

    public var byteCount: Int {
        switch self {
        case .sha1: 20
        case .sha224, .sha512_224: 28
        case .sha256, .sha512_256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }

    var evp: OpaquePointer? {
        switch self {
        case .sha1: EVP_sha1()
        case .sha224: EVP_sha224()
        case .sha256: EVP_sha256()
        case .sha384: EVP_sha384()
        case .sha512: EVP_sha512()
        case .sha512_224: EVP_sha512_224()
        case .sha512_256: EVP_sha512_256()
        }
    }

    /// The digest of `bytes` in one call.
    public func hash(_ bytes: [UInt8]) throws(OpenPGPError) -> [UInt8] {
        let hasher = try Hasher(self)
        hasher.update(bytes)
        return try hasher.finalize()
    }
}

/// A running digest over OpenSSL EVP; one owner, freed once.
public final class Hasher {
    public let algorithm: DigestAlgorithm
    private let context: OpaquePointer

    public init(_ algorithm: DigestAlgorithm) throws(OpenPGPError) {
        guard let context = EVP_MD_CTX_new() else { throw .fromOpenSSL("EVP_MD_CTX_new") }
        guard EVP_DigestInit_ex(context, algorithm.evp, nil) == 1 else {
            let error = OpenPGPError.fromOpenSSL("EVP_DigestInit_ex(\(algorithm.rawValue))")
            EVP_MD_CTX_free(context)
            throw error
        }
        self.algorithm = algorithm
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        // Fails only on a corrupted context or no memory: not something input can cause.
        guard EVP_DigestUpdate(context, base, bytes.count) == 1 else {
            preconditionFailure("\(OpenPGPError.fromOpenSSL("EVP_DigestUpdate"))")
        }
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest; the hasher must not be used afterwards.
    public func finalize() throws(OpenPGPError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &out, &length) == 1 else { throw .fromOpenSSL("EVP_DigestFinal_ex") }
        return Array(out.prefix(Int(length)))
    }
}

/// The symmetric ciphers of secret-key protection sifter can undo (RFC 4880 §9.2).
enum SymmetricCipher: UInt8 {
    case aes128 = 7
    case aes192 = 8
    case aes256 = 9

    var keyLength: Int {
        switch self {
        case .aes128: 16
        case .aes192: 24
        case .aes256: 32
        }
    }

    var blockSize: Int { 16 }

    static func named(_ id: UInt8) throws(OpenPGPError) -> SymmetricCipher {
        guard let cipher = SymmetricCipher(rawValue: id) else {
            let names: [UInt8: String] = [1: "IDEA", 2: "TripleDES", 3: "CAST5", 4: "Blowfish", 10: "Twofish"]
            throw .unsupported("secret keys protected with \(names[id] ?? "cipher \(id)") (only AES-128, AES-192 and AES-256)")
        }
        return cipher
    }

    /// OpenPGP CFB with a zero-padded last block is plain CFB-128 without padding.
    func cfb(_ input: [UInt8], key: [UInt8], iv: [UInt8], encrypt: Bool) throws(OpenPGPError) -> [UInt8] {
        guard key.count == keyLength, iv.count == blockSize else { throw .malformed("wrong key or IV length for \(self)") }
        guard let context = EVP_CIPHER_CTX_new() else { throw .fromOpenSSL("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        let evp: OpaquePointer? = switch self {
        case .aes128: EVP_aes_128_cfb128()
        case .aes192: EVP_aes_192_cfb128()
        case .aes256: EVP_aes_256_cfb128()
        }
        guard EVP_CipherInit_ex(context, evp, nil, key, iv, encrypt ? 1 : 0) == 1 else { throw .fromOpenSSL("EVP_CipherInit_ex") }
        var out = [UInt8](repeating: 0, count: input.count + blockSize)
        var written: Int32 = 0
        var total = 0
        guard EVP_CipherUpdate(context, &out, &written, input, Int32(input.count)) == 1 else { throw .fromOpenSSL("EVP_CipherUpdate") }
        total = Int(written)
        let finished = out.withUnsafeMutableBufferPointer { buffer in
            EVP_CipherFinal_ex(context, buffer.baseAddress! + total, &written)
        }
        guard finished == 1 else { throw .fromOpenSSL("EVP_CipherFinal_ex") }
        total += Int(written)
        let result = Array(out.prefix(total))
        wipe(&out)
        return result
    }
}
