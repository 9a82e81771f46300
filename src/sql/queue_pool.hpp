#pragma once
// QueuePool: SQLAlchemy's QueuePool semantics for the server backends.
//   - lazy: nothing is opened until the first checkout;
//   - at most `pool_size` connections are kept idle, at most `pool_size + max_overflow` are open;
//     overflow connections are closed when returned;
//   - a checkout that cannot get a connection within `timeout_s` throws Error(pool_timeout) with
//     SQLAlchemy's wording ("QueuePool limit of size N overflow M reached, ...");
//   - recycle (age since open) and pre-ping (only for connections idle >= pre_ping_idle_s, never for
//     a connection opened by this checkout) are checked at checkout only;
//   - returned connections are rolled back when a transaction is open;
//   - a connection that saw a disconnect is discarded and every connection opened before that moment
//     is treated as stale (pool-wide invalidation timestamp) and replaced at its next checkout.
// No connect, ping or close runs while the pool mutex is held.
//
// Thread-safety: the pool is thread-safe. It must outlive every Lease it handed out.

#include <functional>
#include <memory>

#include "sql/pool.hpp"

namespace lunadb::sql {

struct QueuePoolOptions {
  int pool_size = 10;        // 0: no limit (max_overflow is then ignored), as in SQLAlchemy
  int max_overflow = 20;     // -1: no limit
  double timeout_s = 30;
  int recycle_s = 1800;      // <= 0: never recycle
  bool pre_ping = true;
  double pre_ping_idle_s = 10;
  bool use_lifo = false;     // FIFO like SQLAlchemy's default queue
};

QueuePoolOptions queue_pool_options_from(const Settings& settings);

using ConnectionFactory = std::function<std::unique_ptr<Connection>()>;

// `connect` opens one connection; it is called without any pool lock held, possibly from several
// threads at once.
std::unique_ptr<ConnectionSource> make_queue_pool(Backend backend, const QueuePoolOptions& options,
                                                  ConnectionFactory connect);

// SQLAlchemy's status() line: "Pool size: N  Connections in pool: N Current Overflow: N Current
// Checked out connections: N".
std::string describe_pool_status(const PoolStats& stats);

}  // namespace lunadb::sql
