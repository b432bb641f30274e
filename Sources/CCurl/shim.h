#ifndef SIFTER_CCURL_SHIM_H
#define SIFTER_CCURL_SHIM_H

#include <curl/curl.h>

/* curl_easy_setopt / curl_easy_getinfo are variadic, which Swift cannot
   call; these wrappers fix the argument type per option family. */

static inline CURLcode sifter_curl_setopt_long(CURL *h, CURLoption opt, long v) {
    return curl_easy_setopt(h, opt, v);
}
static inline CURLcode sifter_curl_setopt_ptr(CURL *h, CURLoption opt, const void *v) {
    return curl_easy_setopt(h, opt, v);
}
static inline CURLcode sifter_curl_setopt_str(CURL *h, CURLoption opt, const char *v) {
    return curl_easy_setopt(h, opt, v);
}
static inline CURLcode sifter_curl_setopt_off(CURL *h, CURLoption opt, curl_off_t v) {
    return curl_easy_setopt(h, opt, v);
}
static inline CURLcode sifter_curl_setopt_slist(CURL *h, CURLoption opt, struct curl_slist *v) {
    return curl_easy_setopt(h, opt, v);
}
static inline CURLcode sifter_curl_setopt_write_cb(CURL *h, CURLoption opt, curl_write_callback cb) {
    return curl_easy_setopt(h, opt, cb);
}
static inline CURLcode sifter_curl_setopt_read_cb(CURL *h, CURLoption opt, curl_read_callback cb) {
    return curl_easy_setopt(h, opt, cb);
}
static inline CURLcode sifter_curl_setopt_xferinfo_cb(CURL *h, CURLoption opt, curl_xferinfo_callback cb) {
    return curl_easy_setopt(h, opt, cb);
}

static inline CURLcode sifter_curl_getinfo_long(CURL *h, CURLINFO info, long *out) {
    return curl_easy_getinfo(h, info, out);
}
static inline CURLcode sifter_curl_getinfo_str(CURL *h, CURLINFO info, const char **out) {
    return curl_easy_getinfo(h, info, out);
}
static inline CURLcode sifter_curl_getinfo_off(CURL *h, CURLINFO info, curl_off_t *out) {
    return curl_easy_getinfo(h, info, out);
}

/* Return values with special meaning to curl that are macros. */
static inline size_t sifter_curl_readfunc_abort(void) { return CURL_READFUNC_ABORT; }
static inline size_t sifter_curl_writefunc_error(void) { return CURL_WRITEFUNC_ERROR; }
static inline long sifter_curl_http_version_2tls(void) { return CURL_HTTP_VERSION_2TLS; }
static inline long sifter_curl_global_default(void) { return CURL_GLOBAL_DEFAULT; }
static inline int sifter_curl_error_size(void) { return CURL_ERROR_SIZE; }

#endif
