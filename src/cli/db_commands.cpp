// `lunadb ping`: connect through the configured connection source and report what answered.

#include <fmt/format.h>

#include <chrono>
#include <iostream>

#include "cli/commands.hpp"
#include "lunadb/error.hpp"
#include "sql/pool.hpp"

namespace lunadb::cli {

void register_db_commands(CLI::App& app, Context& context) {
  CLI::App* ping = app.add_subcommand(
      "ping", "Connect to the configured database (DB_URL / DB_PATH) and print backend, server version and pool "
              "settings; exit 1 with the reason when it cannot connect");
  ping->callback([&context] {
    const Settings& settings = context.settings();
    const auto start = std::chrono::steady_clock::now();
    auto source = sql::make_connection_source(settings);
    std::string version;
    try {
      auto lease = source->acquire();
      version = lease->server_version();
      if (!lease->ping()) {
        throw Error(ErrorKind::connection, "connected to " + settings.db.redacted() +
                                               " but the connection did not answer a ping");
      }
    } catch (const Error& e) {
      std::cerr << "lunadb: cannot reach the database (" << to_string(settings.db.backend) << "): " << e.what() << '\n';
      throw Exit{kExitFailure};
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const bool sqlite = settings.db.backend == Backend::sqlite;
    std::cout << fmt::format("backend         {}\n", to_string(settings.db.backend));
    std::cout << fmt::format("database        {}\n", sqlite ? settings.db.database : settings.db.redacted());
    std::cout << fmt::format("server version  {}\n", version);
    std::cout << fmt::format("connect + ping  {:.1f} ms\n", ms);
    if (sqlite) {
      std::cout << "pool            SQLite connection cache (DB_POOL_* settings do not apply)\n";
    } else {
      std::cout << fmt::format(
          "pool            QueuePool size {} (DB_POOL_SIZE), overflow {} (DB_MAX_OVERFLOW), timeout {} s "
          "(DB_POOL_TIMEOUT), recycle {} s (DB_POOL_RECYCLE), pre-ping {} for connections idle >= {} s\n",
          settings.pool_size, settings.max_overflow, settings.pool_timeout_s, settings.pool_recycle_s,
          settings.pool_pre_ping ? "on" : "off", settings.pool_pre_ping_idle_s);
    }
  });
}

}  // namespace lunadb::cli
