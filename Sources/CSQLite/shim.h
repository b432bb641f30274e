#ifndef SIFTER_CSQLITE_SHIM_H
#define SIFTER_CSQLITE_SHIM_H
// SQLite 3 (Debian's libsqlite3-dev), for reading rpm's rpmdb.sqlite.
#include <sqlite3.h>

/* sqlite3_db_config is variadic, which Swift cannot call: the on/off options as a function. */
static inline int sifter_sqlite3_db_config_flag(sqlite3 *db, int option, int value) {
    return sqlite3_db_config(db, option, value, (int *)0);
}

#endif
