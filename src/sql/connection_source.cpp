// make_connection_source(): SQLite gets a cache of idle connections to its file; server backends
// get the QueuePool (queue_pool.cpp).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "lunadb/error.hpp"
#include "sql/backends.hpp"
#include "sql/pool.hpp"

namespace lunadb::sql {

namespace {

// Connections to one SQLite file, opened on demand and kept when returned; no limit, because an
// SQLite connection costs no server resources and WAL lets readers and one writer overlap.
// An in-memory database lives inside its single connection, so there the cache holds exactly
// one connection and acquire() waits (up to DB_POOL_TIMEOUT) for it.
class SqliteConnectionCache final : public ConnectionSource {
 public:
  explicit SqliteConnectionCache(const Settings& settings)
      : url_(settings.db),
        options_(connect_options_from(settings)),
        single_(settings.db.sqlite_in_memory()),
        timeout_(std::chrono::duration<double>(settings.pool_timeout_s)) {}

  ~SqliteConnectionCache() override = default;

  Lease acquire() override {
    std::unique_lock lock(mutex_);
    ++stats_.checkouts;
    if (single_) {
      if (out_ > 0) {
        ++stats_.waits;
        if (!returned_.wait_for(lock, timeout_, [&] { return out_ == 0; })) {
          ++stats_.timeouts;
          throw Error(ErrorKind::pool_timeout,
                      "the in-memory SQLite database has one connection and it stayed in use for " +
                          std::to_string(timeout_.count()) + " s (DB_POOL_TIMEOUT)");
        }
      }
    }
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return lease(std::move(connection));
    }
    ++out_;  // reserve the slot while opening without the lock
    std::uint64_t generation = generation_;
    lock.unlock();
    std::unique_ptr<Connection> connection;
    try {
      connection = open_connection(url_, options_);
    } catch (...) {
      lock.lock();
      --out_;
      returned_.notify_one();
      throw;
    }
    lock.lock();
    --out_;
    ++open_;
    stats_.peak_open = std::max(stats_.peak_open, open_);
    generations_[connection.get()] = generation;
    return lease(std::move(connection));
  }

  PoolStats stats() const override {
    std::lock_guard lock(mutex_);
    PoolStats stats = stats_;
    stats.open = open_;
    stats.idle = static_cast<int>(idle_.size());
    stats.checked_out = open_ - stats.idle;
    return stats;
  }

  Backend backend() const override { return Backend::sqlite; }

  void dispose() override {
    std::vector<std::unique_ptr<Connection>> closing;
    {
      std::lock_guard lock(mutex_);
      closing.swap(idle_);
      for (const auto& connection : closing) generations_.erase(connection.get());
      open_ -= static_cast<int>(closing.size());
      ++generation_;
    }
    // Closed outside the lock.
  }

 protected:
  void release(std::unique_ptr<Connection> connection, bool broken) noexcept override {
    if (!broken) {
      try {
        // A lease may end mid-transaction (an exception unwound past its commit) or after a
        // migration switched foreign keys off: the next user gets a clean connection.
        if (connection->in_transaction()) connection->rollback();
        connection->execute("PRAGMA foreign_keys = ON");
      } catch (...) {
        broken = true;
      }
    }
    std::unique_ptr<Connection> closing;
    {
      std::lock_guard lock(mutex_);
      --out_;
      auto found = generations_.find(connection.get());
      bool stale = found == generations_.end() || found->second != generation_;
      if (broken || stale) {
        if (broken) ++stats_.invalidated;
        if (found != generations_.end()) generations_.erase(found);
        --open_;
        closing = std::move(connection);
      } else {
        idle_.push_back(std::move(connection));
      }
    }
    returned_.notify_one();
    // `closing` is destroyed here, outside the lock.
  }

 private:
  Lease lease(std::unique_ptr<Connection> connection) {
    ++out_;
    return Lease(this, std::move(connection));
  }

  const DbUrl url_;
  const ConnectOptions options_;
  const bool single_;
  const std::chrono::duration<double> timeout_;

  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::unordered_map<const Connection*, std::uint64_t> generations_;  // every open connection
  std::uint64_t generation_ = 0;  // bumped by dispose(): older connections close when returned
  int open_ = 0;
  int out_ = 0;  // leased or being opened
  PoolStats stats_;
};

}  // namespace

std::unique_ptr<ConnectionSource> make_connection_source(const Settings& settings) {
  if (settings.db.backend == Backend::sqlite) return std::make_unique<SqliteConnectionCache>(settings);
  return make_queue_pool(settings);
}

}  // namespace lunadb::sql
