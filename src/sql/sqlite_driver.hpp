#pragma once
// The SQLite driver on the sqlite3 C API. Opened through open_sqlite_connection() (backends.hpp).
//
// Every connection: WAL journal, synchronous=NORMAL, foreign_keys=ON, the busy timeout from
// ConnectOptions; write transactions BEGIN IMMEDIATE, read transactions BEGIN DEFERRED. A file that
// is not an SQLite database is refused with Error(corrupt) before anything is written to it.
// Text bound from C++ must be valid UTF-8 (Error(invalid_argument) otherwise).
//
// Thread-safety: a connection belongs to one thread at a time (opened SQLITE_OPEN_NOMUTEX).

#include <string>
#include <string_view>

namespace lunadb::sql {

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace lunadb::sql
