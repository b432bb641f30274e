import COpenSSL

/// An OpenSSL EVP_PKEY built from OpenPGP key material; freed once.
final class EVPKey {
    let pointer: OpaquePointer

    private init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }

    /// An RSA key from its components (OpenSSL 3 `OSSL_PARAM_BLD` + `EVP_PKEY_fromdata`).
    /// `secret` holds d, p, q and u as OpenPGP stores them (u = p⁻¹ mod q).
    static func rsa(n: [UInt8], e: [UInt8], secret: (d: [UInt8], p: [UInt8], q: [UInt8], u: [UInt8])?) throws(OpenPGPError) -> EVPKey {
        guard let builder = OSSL_PARAM_BLD_new() else { throw .fromOpenSSL("OSSL_PARAM_BLD_new") }
        defer { OSSL_PARAM_BLD_free(builder) }
        var numbers: [OpaquePointer] = []
        defer { numbers.forEach { BN_clear_free($0) } }
        func number(_ bytes: [UInt8]) throws(OpenPGPError) -> OpaquePointer {
            guard let value = BN_bin2bn(bytes, Int32(bytes.count), nil) else { throw .fromOpenSSL("BN_bin2bn") }
            numbers.append(value)
            return value
        }
        // The builder keeps the name pointer until `to_param`: it must outlive the call, as a
        // static string's does (a Swift String's temporary C string would not).
        func push(_ name: StaticString, _ value: OpaquePointer) throws(OpenPGPError) {
            let cName = UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self)
            guard OSSL_PARAM_BLD_push_BN(builder, cName, value) == 1 else { throw .fromOpenSSL("OSSL_PARAM_BLD_push_BN(\(name))") }
        }
        try push("n", try number(n))
        try push("e", try number(e))
        if let secret {
            let d = try number(secret.d), p = try number(secret.p), q = try number(secret.q)
            guard let context = BN_CTX_new() else { throw .fromOpenSSL("BN_CTX_new") }
            defer { BN_CTX_free(context) }
            // OpenSSL's coefficient is factor2⁻¹ mod factor1: with q first and p second it is u.
            let one = try number([1])
            let qMinus1 = try number([0]), pMinus1 = try number([0]), dq = try number([0]), dp = try number([0])
            guard BN_sub(qMinus1, q, one) == 1, BN_sub(pMinus1, p, one) == 1,
                  BN_div(nil, dq, d, qMinus1, context) == 1, BN_div(nil, dp, d, pMinus1, context) == 1
            else { throw .fromOpenSSL("computing the RSA CRT exponents") }
            try push("d", d)
            try push("rsa-factor1", q)
            try push("rsa-factor2", p)
            try push("rsa-exponent1", dq)
            try push("rsa-exponent2", dp)
            try push("rsa-coefficient1", try number(secret.u))
        }
        guard let params = OSSL_PARAM_BLD_to_param(builder) else { throw .fromOpenSSL("OSSL_PARAM_BLD_to_param") }
        defer { OSSL_PARAM_free(params) }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else { throw .fromOpenSSL("EVP_PKEY_CTX_new_from_name(RSA)") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        let selection = secret == nil ? sifter_EVP_PKEY_PUBLIC_KEY() : sifter_EVP_PKEY_KEYPAIR()
        guard EVP_PKEY_fromdata_init(context) == 1, EVP_PKEY_fromdata(context, &key, selection, params) == 1, let key else {
            throw .fromOpenSSL("EVP_PKEY_fromdata(RSA)")
        }
        return EVPKey(key)
    }

    static func ed25519(publicKey: [UInt8]) throws(OpenPGPError) -> EVPKey {
        guard publicKey.count == 32 else { throw .malformed("an Ed25519 public key is \(publicKey.count) bytes, not 32") }
        guard let key = EVP_PKEY_new_raw_public_key(sifter_EVP_PKEY_ED25519(), nil, publicKey, 32) else {
            throw .fromOpenSSL("EVP_PKEY_new_raw_public_key(Ed25519)")
        }
        return EVPKey(key)
    }

    static func ed25519(seed: [UInt8]) throws(OpenPGPError) -> EVPKey {
        guard seed.count == 32 else { throw .malformed("an Ed25519 secret key is \(seed.count) bytes, not 32") }
        guard let key = EVP_PKEY_new_raw_private_key(sifter_EVP_PKEY_ED25519(), nil, seed, 32) else {
            throw .fromOpenSSL("EVP_PKEY_new_raw_private_key(Ed25519)")
        }
        return EVPKey(key)
    }

    /// The raw public key of an Ed25519 EVP key (to check a secret key against its public part).
    func ed25519PublicKey() throws(OpenPGPError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length = 32
        guard EVP_PKEY_get_raw_public_key(pointer, &out, &length) == 1, length == 32 else {
            throw .fromOpenSSL("EVP_PKEY_get_raw_public_key")
        }
        return out
    }

    // MARK: RSA PKCS#1 v1.5 over a digest

    func rsaSign(digest: [UInt8], algorithm: DigestAlgorithm) throws(OpenPGPError) -> [UInt8] {
        let context = try rsaContext(algorithm: algorithm, signing: true)
        defer { EVP_PKEY_CTX_free(context) }
        var length = 0
        guard EVP_PKEY_sign(context, nil, &length, digest, digest.count) == 1 else { throw .fromOpenSSL("EVP_PKEY_sign") }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_sign(context, &signature, &length, digest, digest.count) == 1 else { throw .fromOpenSSL("EVP_PKEY_sign") }
        return Array(signature.prefix(length))
    }

    /// False for a signature that does not match; throws only when OpenSSL cannot check at all.
    func rsaVerify(digest: [UInt8], algorithm: DigestAlgorithm, signature: [UInt8]) throws(OpenPGPError) -> Bool {
        let context = try rsaContext(algorithm: algorithm, signing: false)
        defer { EVP_PKEY_CTX_free(context) }
        // An MPI drops leading zero bytes; the RSA primitive wants the modulus's length.
        let size = Int(EVP_PKEY_get_size(pointer))
        guard signature.count <= size else { return false }
        let padded = [UInt8](repeating: 0, count: size - signature.count) + signature
        let result = EVP_PKEY_verify(context, padded, padded.count, digest, digest.count)
        ERR_clear_error()  // a mismatch leaves entries that must not be blamed on a later call
        return result == 1
    }

    private func rsaContext(algorithm: DigestAlgorithm, signing: Bool) throws(OpenPGPError) -> OpaquePointer {
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else { throw .fromOpenSSL("EVP_PKEY_CTX_new_from_pkey") }
        let initialised = signing ? EVP_PKEY_sign_init(context) : EVP_PKEY_verify_init(context)
        guard initialised == 1, EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1,
              EVP_PKEY_CTX_set_signature_md(context, algorithm.evp) == 1
        else {
            let error = OpenPGPError.fromOpenSSL(signing ? "EVP_PKEY_sign_init" : "EVP_PKEY_verify_init")
            EVP_PKEY_CTX_free(context)
            throw error
        }
        return context
    }

    // MARK: Ed25519 over a digest (OpenPGP's EdDSA signs the hash, RFC 4880bis §5.2.4)

    func ed25519Sign(message: [UInt8]) throws(OpenPGPError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw .fromOpenSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        var signature = [UInt8](repeating: 0, count: 64)
        var length = 64
        guard EVP_DigestSignInit(context, nil, nil, nil, pointer) == 1,
              EVP_DigestSign(context, &signature, &length, message, message.count) == 1, length == 64
        else { throw .fromOpenSSL("EVP_DigestSign(Ed25519)") }
        return signature
    }

    func ed25519Verify(message: [UInt8], signature: [UInt8]) throws(OpenPGPError) -> Bool {
        guard signature.count == 64 else { return false }
        guard let context = EVP_MD_CTX_new() else { throw .fromOpenSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, pointer) == 1 else { throw .fromOpenSSL("EVP_DigestVerifyInit(Ed25519)") }
        let result = EVP_DigestVerify(context, signature, signature.count, message, message.count)
        ERR_clear_error()
        return result == 1
    }
}
