// Request counts and latency percentiles per route. Latencies go into a fixed ring per route, so
// the memory stays bounded however long the server runs; percentiles cover the recent requests.

#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

#include "lunadb/serve.hpp"

namespace lunadb::serve {

namespace {

constexpr std::size_t kLatencyWindow = 4096;

struct RouteStats {
  std::uint64_t count = 0;
  std::map<int, std::uint64_t> by_status;
  std::vector<std::int64_t> recent_us;  // a ring of the last kLatencyWindow durations
  std::size_t next_slot = 0;
};

double percentile(std::vector<std::int64_t> sorted_us, double fraction) {
  if (sorted_us.empty()) return 0;
  std::sort(sorted_us.begin(), sorted_us.end());
  const auto rank = static_cast<std::size_t>(fraction * static_cast<double>(sorted_us.size() - 1) + 0.5);
  return static_cast<double>(sorted_us[std::min(rank, sorted_us.size() - 1)]) / 1000.0;
}

}  // namespace

struct RequestStats::State {
  mutable std::mutex mutex;
  std::map<std::string, RouteStats> routes;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

RequestStats::RequestStats() : state_(std::make_unique<State>()) {}
RequestStats::~RequestStats() = default;

void RequestStats::record(const std::string& route, int status, std::chrono::microseconds duration) noexcept {
  try {
    std::lock_guard lock(state_->mutex);
    RouteStats& stats = state_->routes[route];
    ++stats.count;
    ++stats.by_status[status];
    if (stats.recent_us.size() < kLatencyWindow) {
      stats.recent_us.push_back(duration.count());
    } else {
      stats.recent_us[stats.next_slot] = duration.count();
      stats.next_slot = (stats.next_slot + 1) % kLatencyWindow;
    }
  } catch (...) {
    // Out of memory while counting: the request itself already got its answer.
  }
}

nlohmann::json RequestStats::snapshot() const {
  std::lock_guard lock(state_->mutex);
  nlohmann::json routes = nlohmann::json::object();
  std::uint64_t total = 0;
  std::vector<std::int64_t> all_recent;
  for (const auto& [route, stats] : state_->routes) {
    nlohmann::json statuses = nlohmann::json::object();
    for (const auto& [status, count] : stats.by_status) statuses[std::to_string(status)] = count;
    routes[route] = {{"count", stats.count},
                     {"status", statuses},
                     {"p50_ms", percentile(stats.recent_us, 0.50)},
                     {"p90_ms", percentile(stats.recent_us, 0.90)},
                     {"p99_ms", percentile(stats.recent_us, 0.99)},
                     {"max_ms", percentile(stats.recent_us, 1.0)}};
    total += stats.count;
    all_recent.insert(all_recent.end(), stats.recent_us.begin(), stats.recent_us.end());
  }
  const auto uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - state_->started).count();
  return {{"uptime_s", uptime},
          {"requests", total},
          {"p50_ms", percentile(all_recent, 0.50)},
          {"p99_ms", percentile(all_recent, 0.99)},
          {"latency_window", kLatencyWindow},
          {"routes", routes}};
}

}  // namespace lunadb::serve
