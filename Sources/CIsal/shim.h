#ifndef SIFTER_CISAL_SHIM_H
#define SIFTER_CISAL_SHIM_H

/* Intel ISA-L: ArchiveIO uses only its igzip inflate (isal_inflate), which
   decompresses gzip layers about 2.5x faster than zlib. */
#include <isa-l.h>

#endif
