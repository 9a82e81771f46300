#include "sql/queue_pool.hpp"

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "lunadb/error.hpp"
#include "sql/backends.hpp"

namespace lunadb::sql {

namespace {

using Clock = std::chrono::steady_clock;

struct PooledConnection {
  std::unique_ptr<Connection> connection;
  Clock::time_point opened_at;
  Clock::time_point returned_at;
};

std::string format_seconds(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", seconds);
  return buffer;
}

class QueuePool final : public ConnectionSource {
 public:
  QueuePool(Backend backend, const QueuePoolOptions& options, ConnectionFactory connect)
      : backend_(backend), options_(options), connect_(std::move(connect)) {
    if (options_.pool_size <= 0) {
      options_.pool_size = 0;
      options_.max_overflow = -1;
    }
  }

  ~QueuePool() override {
    // Idle connections close here; leases must have been returned (documented contract).
    std::deque<PooledConnection> idle;
    {
      std::lock_guard lock(mutex_);
      idle.swap(idle_);
    }
  }

  Lease acquire() override {
    PooledConnection candidate;
    bool fresh = false;
    {
      std::unique_lock lock(mutex_);
      ++checkouts_;
      const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(options_.timeout_s));
      bool waited = false;
      while (true) {
        if (!idle_.empty()) {
          if (options_.use_lifo) {
            candidate = std::move(idle_.back());
            idle_.pop_back();
          } else {
            candidate = std::move(idle_.front());
            idle_.pop_front();
          }
          break;
        }
        if (has_capacity()) {
          ++open_;  // reserve the slot; the connect itself runs unlocked
          peak_open_ = std::max(peak_open_, open_);
          fresh = true;
          break;
        }
        if (!waited) {
          waited = true;
          ++waits_;
        }
        if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
            !has_capacity()) {
          ++timeouts_;
          throw Error(ErrorKind::pool_timeout, timeout_message());
        }
      }
      ++checked_out_;
    }

    try {
      if (fresh) {
        candidate = open_new();
      } else if (needs_replacement(candidate)) {
        replace(candidate);
      } else if (needs_ping(candidate) && !candidate.connection->ping()) {
        // A failed ping means the server side went away: everything opened up to now is suspect.
        invalidate_older_than(Clock::now());
        replace(candidate);
      }
    } catch (...) {
      std::lock_guard lock(mutex_);
      --open_;
      --checked_out_;
      available_.notify_one();
      throw;
    }

    Connection* raw = candidate.connection.get();
    {
      std::lock_guard lock(mutex_);
      opened_at_[raw] = candidate.opened_at;
    }
    return Lease(this, std::move(candidate.connection));
  }

  PoolStats stats() const override {
    std::lock_guard lock(mutex_);
    PoolStats s;
    s.size = options_.pool_size;
    s.max_overflow = options_.max_overflow;
    s.open = open_;
    s.idle = static_cast<int>(idle_.size());
    s.checked_out = checked_out_;
    s.overflow = std::max(0, open_ - options_.pool_size);
    s.peak_open = peak_open_;
    s.checkouts = checkouts_;
    s.waits = waits_;
    s.timeouts = timeouts_;
    s.invalidated = invalidated_;
    return s;
  }

  Backend backend() const override { return backend_; }

  void dispose() override {
    std::deque<PooledConnection> closing;
    {
      std::lock_guard lock(mutex_);
      closing.swap(idle_);
      open_ -= static_cast<int>(closing.size());
      // Leases still out were opened before now: they are closed when they come back.
      invalidated_before_ = Clock::now();
      available_.notify_all();
    }
  }

 protected:
  void release(std::unique_ptr<Connection> connection, bool broken) noexcept override {
    if (!connection) return;
    const auto now = Clock::now();
    // The driver marks a connection unusable when the server went away (as opposed to a lease
    // invalidated by its user): then every older pooled connection is suspect too.
    const bool disconnected = !connection->usable();
    if (!broken && connection->in_transaction()) {
      try {
        connection->rollback();
      } catch (...) {
        broken = true;
      }
      if (!connection->usable()) broken = true;
    }

    std::unique_ptr<Connection> closing;
    {
      std::lock_guard lock(mutex_);
      auto found = opened_at_.find(connection.get());
      const Clock::time_point opened_at = found != opened_at_.end() ? found->second : Clock::time_point{};
      if (found != opened_at_.end()) opened_at_.erase(found);
      --checked_out_;
      if (disconnected) invalidated_before_ = std::max(invalidated_before_, now);
      const bool stale = opened_at <= invalidated_before_;
      const bool room = options_.pool_size == 0 || static_cast<int>(idle_.size()) < options_.pool_size;
      if (broken || stale || !room) {
        if (broken || stale) ++invalidated_;
        --open_;
        closing = std::move(connection);
      } else {
        idle_.push_back(PooledConnection{std::move(connection), opened_at, now});
      }
      available_.notify_one();
    }
    // `closing` is destroyed here, outside the lock: closing may wait on the network.
  }

 private:
  bool has_capacity() const {
    if (options_.max_overflow < 0) return true;
    return open_ < options_.pool_size + options_.max_overflow;
  }

  std::string timeout_message() const {
    return "QueuePool limit of size " + std::to_string(options_.pool_size) + " overflow " +
           std::to_string(std::max(0, open_ - options_.pool_size)) +
           " reached, connection timed out, timeout " + format_seconds(options_.timeout_s) +
           " (all " + std::to_string(open_) +
           " connections are checked out; raise DB_POOL_SIZE or DB_MAX_OVERFLOW for more "
           "connections, or DB_POOL_TIMEOUT to wait longer, and check for leases held too long)";
  }

  PooledConnection open_new() {
    auto connection = connect_();
    const auto now = Clock::now();
    return PooledConnection{std::move(connection), now, now};
  }

  bool needs_replacement(const PooledConnection& candidate) const {
    const auto now = Clock::now();
    if (options_.recycle_s > 0 && now - candidate.opened_at >= std::chrono::seconds(options_.recycle_s)) {
      return true;
    }
    if (!candidate.connection->usable()) return true;
    std::lock_guard lock(mutex_);
    return candidate.opened_at <= invalidated_before_;
  }

  bool needs_ping(const PooledConnection& candidate) const {
    if (!options_.pre_ping) return false;
    return Clock::now() - candidate.returned_at >=
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.pre_ping_idle_s));
  }

  // Closes the stale connection and opens a new one in the same slot. A connect failure
  // propagates (the caller frees the slot).
  void replace(PooledConnection& candidate) {
    {
      std::lock_guard lock(mutex_);
      ++invalidated_;
    }
    candidate.connection.reset();
    candidate = open_new();
  }

  void invalidate_older_than(Clock::time_point moment) {
    std::lock_guard lock(mutex_);
    invalidated_before_ = std::max(invalidated_before_, moment);
  }

  const Backend backend_;
  QueuePoolOptions options_;
  const ConnectionFactory connect_;

  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::deque<PooledConnection> idle_;
  std::unordered_map<const Connection*, Clock::time_point> opened_at_;  // leases out
  int open_ = 0;  // idle + checked out + connects in progress
  int checked_out_ = 0;
  int peak_open_ = 0;
  std::uint64_t checkouts_ = 0;
  std::uint64_t waits_ = 0;
  std::uint64_t timeouts_ = 0;
  std::uint64_t invalidated_ = 0;
  Clock::time_point invalidated_before_{};  // connections opened at or before this are stale
};

}  // namespace

QueuePoolOptions queue_pool_options_from(const Settings& settings) {
  QueuePoolOptions options;
  options.pool_size = settings.pool_size;
  options.max_overflow = settings.max_overflow;
  options.timeout_s = settings.pool_timeout_s;
  options.recycle_s = settings.pool_recycle_s;
  options.pre_ping = settings.pool_pre_ping;
  options.pre_ping_idle_s = settings.pool_pre_ping_idle_s;
  return options;
}

std::unique_ptr<ConnectionSource> make_queue_pool(Backend backend, const QueuePoolOptions& options,
                                                  ConnectionFactory connect) {
  return std::make_unique<QueuePool>(backend, options, std::move(connect));
}

std::unique_ptr<ConnectionSource> make_queue_pool(const Settings& settings) {
  DbUrl url = settings.db;
  ConnectOptions connect_options = connect_options_from(settings);
  return make_queue_pool(settings.db.backend, queue_pool_options_from(settings),
                         [url, connect_options] { return open_connection(url, connect_options); });
}

std::string describe_pool_status(const PoolStats& stats) {
  return "Pool size: " + std::to_string(stats.size) + "  Connections in pool: " + std::to_string(stats.idle) +
         " Current Overflow: " + std::to_string(stats.overflow) +
         " Current Checked out connections: " + std::to_string(stats.checked_out);
}

}  // namespace lunadb::sql
