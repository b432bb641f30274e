#ifndef SIFTER_COPENSSL_SHIM_H
#define SIFTER_COPENSSL_SHIM_H

#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/crypto.h>

/* EVP_MD_size is a macro in OpenSSL 3 (it expands to EVP_MD_get_size);
   Swift cannot import function-like macros, so expose it as a function. */
static inline int sifter_EVP_MD_size(const EVP_MD *md) {
    return EVP_MD_get_size(md);
}

#endif
