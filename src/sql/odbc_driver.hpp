#pragma once
// The ODBC driver (unixODBC): SQL Server / Azure SQL in production, and any ODBC driver in tests
// (the live suite runs through the PostgreSQL and MariaDB ODBC drivers). The connection layer is
// generic ODBC; the SQL it is given is the caller's (MssqlDialect renders T-SQL).
//
// Choices (docs/sqlserver.md):
//  - Text goes both ways as UTF-16 through the "W" API (SQL_C_WCHAR), whatever the driver's or
//    the process's locale; long values are read with SQLGetData in chunks sized by what the
//    driver says remains, never into a fixed huge buffer.
//  - Each connection has its own environment handle; ODBC connection pooling stays off, so the
//    QueuePool is the only pool (and sp_reset_connection is never needed).
//  - Autocommit is on outside begin()/commit(); begin() switches it off for the transaction.
//
// Thread-safety: as every Connection: one thread at a time. Statements must not outlive their
// connection.

#include <memory>
#include <string>
#include <vector>

#include "lunadb/error.hpp"
#include "sql/driver.hpp"

namespace lunadb::sql::odbc {

struct DiagnosticRecord {
  std::string sqlstate;  // "23000", "08S01", ...
  std::int64_t native_error = 0;  // the server's own number: 2627, 1205, 1062, ...
  std::string message;   // secrets removed
};

// A DatabaseError from an ODBC call. native_code() is the SQLSTATE of the record that decided
// the kind; native_error() is that record's server error number.
class OdbcError : public DatabaseError {
 public:
  OdbcError(ErrorKind kind, const std::string& message, Details details, std::int64_t native_error,
            std::vector<DiagnosticRecord> records)
      : DatabaseError(kind, message, std::move(details)), native_error_(native_error), records_(std::move(records)) {}
  std::int64_t native_error() const noexcept { return native_error_; }
  const std::vector<DiagnosticRecord>& records() const noexcept { return records_; }

 private:
  std::int64_t native_error_;
  std::vector<DiagnosticRecord> records_;
};

// What an error means for the caller, from its SQLSTATE and native error number.
struct ErrorClass {
  ErrorKind kind = ErrorKind::internal;
  bool connection_lost = false;
  bool retryable = false;
};
ErrorClass classify(std::string_view sqlstate, std::int64_t native_error);

// The ODBC-specific view of a connection opened by open_odbc_connection().
class OdbcConnection : public Connection {
 public:
  // SQL_DBMS_NAME and SQL_DRIVER_NAME as the driver reports them ("PostgreSQL", "psqlodbcw.so").
  virtual std::string dbms_name() const = 0;
  virtual std::string driver_name() const = 0;
  // Whether execute_batch() may use parameter arrays (SQL_ATTR_PARAMSET_SIZE). Detected at connect;
  // tests switch it off to exercise the row-by-row fallback.
  virtual bool param_arrays_enabled() const = 0;
  virtual void set_param_arrays_enabled(bool enabled) = 0;
  // How many execute_batch() calls went through parameter arrays (for tests and benchmarks).
  virtual std::uint64_t array_batches() const = 0;
};

// Opens a connection from a full ODBC connection string (DB_URL's odbc_connect). `password` is
// scrubbed from every diagnostic message.
std::unique_ptr<OdbcConnection> open_odbc(const std::string& connection_string, const ConnectOptions& options,
                                          const std::string& password = {});

}  // namespace lunadb::sql::odbc
