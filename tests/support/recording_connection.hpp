#pragma once
// A test double of sql::Connection that records every SQL text it is given and answers with
// canned rows. It exists only for SQL Server: SQL Server is not packaged for Debian and cannot run
// on this machine or in CI, so the store's T-SQL is checked offline (parsed with sqlglot) instead
// of being run. Every other backend is tested against its real server; do not use this for them.
//
// It behaves like a driver where the store's code paths depend on it:
//  - a SELECT yields `rows_per_select` rows (default 1) of made-up values, so lookups find a row
//    and the code after them (delete the message, then move its conversation's counters) runs;
//  - an INSERT with OUTPUT INSERTED yields one row holding a fresh id (1001, 1002, ...);
//  - INSERT, UPDATE, DELETE and MERGE report one affected row;
//  - last_insert_id() throws Error(unsupported), as the ODBC driver does: SQL Server ids must
//    come from the statement itself;
//  - '?' markers are counted (outside quotes, brackets and comments); binding past the count, or
//    running with a marker left unbound, throws Error(usage), as a real driver refuses it.
//
// Thread-safety: the log is thread-safe; connections and statements are used by one thread.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "sql/driver.hpp"
#include "sql/pool.hpp"

namespace lunadb::test {

struct RecordedSql {
  std::string sql;
  bool prepared = false;        // prepare() (true) or execute() (false)
  bool in_transaction = false;  // sent between begin() and commit()/rollback()
};

class SqlRecording {
 public:
  void add(RecordedSql entry);
  std::vector<RecordedSql> entries() const;
  std::size_t size() const;
  // Entries from index `from` on.
  std::vector<RecordedSql> since(std::size_t from) const;
  std::int64_t next_id();
  int begins() const;
  int commits() const;
  int rollbacks() const;
  void count_begin();
  void count_commit();
  void count_rollback();

  int rows_per_select = 1;

 private:
  mutable std::mutex mutex_;
  std::vector<RecordedSql> entries_;
  std::int64_t next_id_ = 1000;
  int begins_ = 0;
  int commits_ = 0;
  int rollbacks_ = 0;
};

// How many '?' parameter markers `sql` holds, skipping '...' / N'...' strings, "..." and [...]
// identifiers, and -- / /* */ comments.
int count_parameter_markers(std::string_view sql);

std::unique_ptr<sql::Connection> make_recording_connection(Backend backend, SqlRecording& recording);

// A ConnectionSource handing out recording connections (the shape of a QueuePool for the store).
class RecordingSource final : public sql::ConnectionSource {
 public:
  RecordingSource(Backend backend, SqlRecording& recording) : backend_(backend), recording_(recording) {}
  sql::Lease acquire() override;
  sql::PoolStats stats() const override;
  Backend backend() const override { return backend_; }
  void dispose() override {}
  // Leases returned with a transaction still open (the store must always end its transactions).
  int returned_in_transaction() const;

 protected:
  void release(std::unique_ptr<sql::Connection> connection, bool broken) noexcept override;

 private:
  Backend backend_;
  SqlRecording& recording_;
  mutable std::mutex mutex_;
  sql::PoolStats stats_;
  int returned_in_transaction_ = 0;
};

}  // namespace lunadb::test
