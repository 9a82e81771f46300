// `lunadb bench pool`: N threads run short write transactions through the connection source for
// S seconds; reports throughput, checkout wait percentiles, the most connections open at once,
// timeouts and errors, plus the uncontended checkout+return overhead of the pool itself.
// Writes go to a scratch table lunadb_bench_pool (ignored by introspection), dropped afterwards.

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.hpp"
#include "lunadb/error.hpp"
#include "schema/model.hpp"
#include "sql/dialect.hpp"
#include "sql/pool.hpp"

namespace lunadb::cli {

namespace {

using Clock = std::chrono::steady_clock;

double percentile_us(std::vector<double>& samples, double p) {
  if (samples.empty()) return 0;
  const auto at = static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(at), samples.end());
  return samples[at];
}

schema::Table bench_table() {
  schema::Table table;
  table.name = "lunadb_bench_pool";
  table.columns = {{"id", {schema::TypeKind::id, 0}, false, {}},
                   {"worker", {schema::TypeKind::integer, 0}, false, {}},
                   {"created_at", {schema::TypeKind::timestamp, 0}, false, schema::CurrentTimestamp{}}};
  table.primary_key_name = "pk_lunadb_bench_pool";
  table.primary_key = {"id"};
  return table;
}

struct Options {
  int threads = 32;
  double seconds = 10;
  int overhead_iterations = 20000;
  bool json = false;
};

void run_bench(Context& context, const Options& options) {
  if (options.threads < 1 || options.seconds <= 0) {
    throw Error(ErrorKind::usage, "bench pool needs --threads >= 1 and --seconds > 0");
  }
  const Settings& settings = context.settings();
  auto source = sql::make_connection_source(settings);
  const schema::Table table = bench_table();
  std::string server_version;
  {
    auto lease = source->acquire();
    server_version = lease->server_version();
    const auto& dialect = lease->dialect();
    if (dialect.table_exists(*lease, table.name)) {
      for (const auto& statement : dialect.drop_table(table)) lease->execute(statement);
    }
    for (const auto& statement : dialect.create_table(table)) lease->execute(statement);
  }
  const std::string insert_sql = [&] {
    auto lease = source->acquire();
    return lease->dialect().insert(table.name, {"worker"}, false);
  }();

  // ---- contended: N threads, short transactions ----
  std::atomic<std::uint64_t> transactions{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> errors{0};
  std::mutex merge_mutex;
  std::vector<double> waits_us;
  std::string first_error;
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.seconds));
  std::vector<std::thread> workers;
  for (int t = 0; t < options.threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<double> local;
      local.reserve(1 << 14);
      while (Clock::now() < until) {
        try {
          const auto before = Clock::now();
          auto lease = source->acquire();
          local.push_back(std::chrono::duration<double, std::micro>(Clock::now() - before).count());
          sql::Transaction tx(*lease);
          auto insert = lease->prepare(insert_sql);
          insert->bind(1, std::int64_t{t});
          insert->execute();
          tx.commit();
          ++transactions;
        } catch (const Error& e) {
          (e.kind() == ErrorKind::pool_timeout ? timeouts : errors)++;
          std::lock_guard lock(merge_mutex);
          if (first_error.empty()) first_error = e.what();
        } catch (const std::exception& e) {
          ++errors;
          std::lock_guard lock(merge_mutex);
          if (first_error.empty()) first_error = e.what();
        }
      }
      std::lock_guard lock(merge_mutex);
      waits_us.insert(waits_us.end(), local.begin(), local.end());
    });
  }
  for (auto& worker : workers) worker.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const auto stats = source->stats();

  // ---- uncontended: checkout + return of an idle connection, one thread ----
  std::vector<double> overhead_us;
  overhead_us.reserve(static_cast<std::size_t>(options.overhead_iterations));
  { auto warm = source->acquire(); }
  for (int i = 0; i < options.overhead_iterations; ++i) {
    const auto before = Clock::now();
    { auto lease = source->acquire(); }
    overhead_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - before).count());
  }

  {
    auto lease = source->acquire();
    for (const auto& statement : lease->dialect().drop_table(table)) lease->execute(statement);
  }

  const double tps = static_cast<double>(transactions.load()) / elapsed;
  const double wait_p50 = percentile_us(waits_us, 0.50);
  const double wait_p99 = percentile_us(waits_us, 0.99);
  const double overhead_p50 = percentile_us(overhead_us, 0.50);
  const double overhead_p99 = percentile_us(overhead_us, 0.99);
  if (options.json) {
    nlohmann::json out = {
        {"backend", to_string(settings.db.backend)},
        {"server_version", server_version},
        {"threads", options.threads},
        {"seconds", elapsed},
        {"pool_size", stats.size},
        {"max_overflow", stats.max_overflow},
        {"transactions", transactions.load()},
        {"transactions_per_second", tps},
        {"checkout_wait_p50_us", wait_p50},
        {"checkout_wait_p99_us", wait_p99},
        {"peak_connections", stats.peak_open},
        {"waits", stats.waits},
        {"timeouts", timeouts.load()},
        {"errors", errors.load()},
        {"uncontended_checkout_return_p50_us", overhead_p50},
        {"uncontended_checkout_return_p99_us", overhead_p99},
    };
    if (!first_error.empty()) out["first_error"] = first_error;
    std::cout << out.dump(2) << '\n';
  } else {
    std::cout << fmt::format("backend                 {} {}\n", to_string(settings.db.backend), server_version);
    std::cout << fmt::format("pool                    size {} + overflow {}, {} threads, {:.1f} s\n", stats.size,
                             stats.max_overflow, options.threads, elapsed);
    std::cout << fmt::format("transactions            {} ({:.0f}/s)\n", transactions.load(), tps);
    std::cout << fmt::format("checkout wait           p50 {:.1f} us, p99 {:.1f} us ({} checkouts waited)\n", wait_p50,
                             wait_p99, stats.waits);
    std::cout << fmt::format("most connections open   {}\n", stats.peak_open);
    std::cout << fmt::format("timeouts / errors       {} / {}\n", timeouts.load(), errors.load());
    std::cout << fmt::format("uncontended checkout+return  p50 {:.2f} us, p99 {:.2f} us (target p50 < 5 us)\n",
                             overhead_p50, overhead_p99);
    if (!first_error.empty()) std::cout << "first error: " << first_error << '\n';
  }
  if (errors.load() > 0 || timeouts.load() > 0) throw Exit{kExitFailure};
}

}  // namespace

void register_bench_pool(CLI::App& bench, Context& context) {
  auto options = std::make_shared<Options>();
  CLI::App* pool = bench.add_subcommand(
      "pool", "N threads doing short transactions through the pool (DB_POOL_* settings apply): transactions/s, "
              "checkout wait p50/p99, most connections open, timeouts, errors, uncontended checkout overhead");
  pool->add_option("--threads", options->threads, "worker threads")->capture_default_str();
  pool->add_option("--seconds", options->seconds, "duration of the contended run")->capture_default_str();
  pool->add_option("--overhead-iterations", options->overhead_iterations,
                   "checkout+return pairs timed for the uncontended overhead")
      ->capture_default_str();
  pool->add_flag("--json", options->json, "print the results as JSON");
  pool->callback([&context, options] { run_bench(context, *options); });
}

}  // namespace lunadb::cli
