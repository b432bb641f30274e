#ifndef SIFTER_CARCHIVE_SHIM_H
#define SIFTER_CARCHIVE_SHIM_H

#include <sys/types.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <locale.h>
#include <archive.h>
#include <archive_entry.h>

/* The AE_IF* file-type constants are macros built from octal literals
   that Swift imports inconsistently across libarchive versions; pin them. */
static inline unsigned int sifter_ae_ifmt(void)   { return AE_IFMT; }
static inline unsigned int sifter_ae_ifreg(void)  { return AE_IFREG; }
static inline unsigned int sifter_ae_iflnk(void)  { return AE_IFLNK; }
static inline unsigned int sifter_ae_ifsock(void) { return AE_IFSOCK; }
static inline unsigned int sifter_ae_ifchr(void)  { return AE_IFCHR; }
static inline unsigned int sifter_ae_ifblk(void)  { return AE_IFBLK; }
static inline unsigned int sifter_ae_ifdir(void)  { return AE_IFDIR; }
static inline unsigned int sifter_ae_ififo(void)  { return AE_IFIFO; }

/* libarchive converts header names between UTF-8 and "the current locale",
   which for a Swift process is "C" (ASCII): every non-ASCII UTF-8 name then
   raises a conversion warning on read and is written as hdrcharset=BINARY.
   libarchive caches the charset per archive on first use, so probing it
   once under a thread-local C.UTF-8 locale makes that archive treat names
   as UTF-8 without touching the process-wide locale. Bytes that are not
   valid UTF-8 still round-trip exactly (as hdrcharset=BINARY). If C.UTF-8
   is missing or libarchive stops caching, the only effect is the warnings. */
static inline void sifter_archive_pin_utf8(struct archive *a) {
    locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (utf8 == (locale_t)0) return;
    locale_t previous = uselocale(utf8);
    struct archive_entry *probe = archive_entry_new2(a);
    if (probe != NULL) {
        archive_entry_copy_pathname(probe, ".");
        (void)archive_entry_pathname_utf8(probe);
        archive_entry_free(probe);
    }
    uselocale(previous);
    freelocale(utf8);
}

/* archive_set_error is variadic, which Swift cannot call. */
static inline void sifter_archive_set_error(struct archive *a, int code, const char *message) {
    archive_set_error(a, code, "%s", message);
}

#endif
