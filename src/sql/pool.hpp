#pragma once
// Where components get connections from. One ConnectionSource per database per process.
//   - SQLite: a simple cache of connections to the one file (no limits; SQLite has no server-side
//     connection cost). Each thread leases its own connection.
//   - PostgreSQL, MySQL, SQL Server: a QueuePool (SQLAlchemy semantics; DB_POOL_* settings).
//
// Thread-safety: ConnectionSource is thread-safe. A Lease is used by one thread at a time.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "lunadb/config.hpp"
#include "sql/driver.hpp"

namespace lunadb::sql {

struct PoolStats {
  int size = 0;           // configured pool size (persistent connections)
  int max_overflow = 0;   // configured overflow
  int open = 0;           // connections currently open (idle + checked out)
  int idle = 0;
  int checked_out = 0;
  int overflow = 0;       // open connections beyond `size`
  int peak_open = 0;      // most connections open at once
  std::uint64_t checkouts = 0;
  std::uint64_t waits = 0;     // checkouts that had to wait for a connection
  std::uint64_t timeouts = 0;  // checkouts that failed with pool_timeout
  std::uint64_t invalidated = 0;
};

class Lease;

class ConnectionSource {
 public:
  virtual ~ConnectionSource() = default;
  // Blocks at most DB_POOL_TIMEOUT on a pooled backend; throws Error(pool_timeout) naming the pool
  // size, overflow and timeout.
  virtual Lease acquire() = 0;
  virtual PoolStats stats() const = 0;
  virtual Backend backend() const = 0;
  // Closes every idle connection; leases still out are closed when returned.
  virtual void dispose() = 0;

 protected:
  friend class Lease;
  // Takes a connection back. `broken` when the lease saw a disconnect or was invalidated.
  virtual void release(std::unique_ptr<Connection> connection, bool broken) noexcept = 0;
};

// A connection on loan; returned (rolled back if a transaction was left open) when destroyed.
class Lease {
 public:
  Lease() = default;
  Lease(ConnectionSource* source, std::unique_ptr<Connection> connection)
      : source_(source), connection_(std::move(connection)) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&& other) noexcept {
    if (this != &other) {
      give_back();
      source_ = other.source_;
      connection_ = std::move(other.connection_);
      broken_ = other.broken_;
    }
    return *this;
  }
  ~Lease() { give_back(); }

  Connection& operator*() const { return *connection_; }
  Connection* operator->() const { return connection_.get(); }
  Connection& get() const { return *connection_; }
  explicit operator bool() const { return connection_ != nullptr; }
  // The connection will be closed instead of pooled.
  void invalidate() noexcept { broken_ = true; }

 private:
  void give_back() noexcept {
    if (connection_ && source_) {
      bool broken = broken_ || !connection_->usable();
      source_->release(std::move(connection_), broken);
    }
    connection_.reset();
  }
  ConnectionSource* source_ = nullptr;
  std::unique_ptr<Connection> connection_;
  bool broken_ = false;
};

// The source for the configured database: SQLite cache or QueuePool.
std::unique_ptr<ConnectionSource> make_connection_source(const Settings& settings);

}  // namespace lunadb::sql
