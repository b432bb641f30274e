#ifndef SIFTER_COPENSSL_SHIM_H
#define SIFTER_COPENSSL_SHIM_H

#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/bn.h>
#include <openssl/rsa.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/core_names.h>

/* EVP_MD_size is a macro in OpenSSL 3 (it expands to EVP_MD_get_size);
   Swift cannot import function-like macros, so expose it as a function. */
static inline int sifter_EVP_MD_size(const EVP_MD *md) {
    return EVP_MD_get_size(md);
}

/* Selection values of EVP_PKEY_fromdata are expression macros Swift does not import. */
static inline int sifter_EVP_PKEY_KEYPAIR(void) { return EVP_PKEY_KEYPAIR; }
static inline int sifter_EVP_PKEY_PUBLIC_KEY(void) { return EVP_PKEY_PUBLIC_KEY; }
static inline int sifter_EVP_PKEY_ED25519(void) { return EVP_PKEY_ED25519; }

#endif
