#pragma once
// Typed errors. Every error lunadb throws derives from lunadb::Error. Messages name the
// setting or input at fault and never contain a password or an API key.
//
// Thread-safety: immutable value types; safe to copy and read from any thread.

#include <stdexcept>
#include <string>

namespace lunadb {

enum class ErrorKind {
  config,            // a setting has a bad value (exit code 2 in the CLI)
  usage,             // a command or API call was used wrongly (exit code 2)
  connection,        // cannot reach / authenticate to a database or server
  constraint,        // unique / foreign key / check / not null violation
  busy,              // lock contention that outlasted the busy timeout
  pool_timeout,      // no pooled connection became free within DB_POOL_TIMEOUT
  not_found,         // a row, revision, collection or file does not exist
  corrupt,           // a file is not what it claims to be (bad magic, checksum, truncation)
  migration,         // a revision could not be applied or the history is inconsistent
  invalid_argument,  // bad input data: NaN, wrong dimension, invalid UTF-8, malformed JSON
  unsupported,       // the operation or backend is not available in this build
  embedding,         // the embedding server failed or answered wrongly
  io,                // file system errors
  internal,          // a bug in lunadb
};

const char* to_string(ErrorKind kind) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

// An error reported by a database backend. Carries the backend's own code: SQLSTATE for
// PostgreSQL and ODBC, the errno for MySQL/MariaDB, the extended result code for SQLite.
class DatabaseError : public Error {
 public:
  struct Details {
    std::string backend;         // "sqlite", "postgresql", "mysql", "mssql"
    std::string native_code;     // "23505", "1062", "2067", "08S01", ...
    bool connection_usable = true;  // false: discard the connection
    bool retryable = false;         // true: the whole transaction may be retried
  };
  DatabaseError(ErrorKind kind, const std::string& message, Details details)
      : Error(kind, message), details_(std::move(details)) {}
  const std::string& backend() const noexcept { return details_.backend; }
  const std::string& native_code() const noexcept { return details_.native_code; }
  bool connection_usable() const noexcept { return details_.connection_usable; }
  bool retryable() const noexcept { return details_.retryable; }

 private:
  Details details_;
};

}  // namespace lunadb
