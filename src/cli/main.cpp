// The lunadb command line: one CLI11 app; each command group registers itself (commands.hpp).

#include <cstdio>
#include <exception>
#include <iostream>

#include "cli/commands.hpp"
#include "lunadb/error.hpp"

namespace lunadb::cli {

const Settings& Context::settings() {
  if (!settings_) {
    settings_ = load_settings(overrides);
    for (const std::string& warning : settings_->warnings) std::cerr << "lunadb: warning: " << warning << '\n';
  }
  return *settings_;
}

namespace {

int exit_code_for(const Error& error) {
  switch (error.kind()) {
    case ErrorKind::config:
    case ErrorKind::usage: return kExitUsage;
    default: return kExitFailure;
  }
}

int run(int argc, char** argv) {
  CLI::App app{"lunadb: the persistence engine of the Luna assistant (SQLite, PostgreSQL, MySQL/MariaDB, "
               "SQL Server; embedded vector store)",
               "lunadb"};
  app.require_subcommand(1);
  app.fallthrough();
  Context context;
  app.add_option_function<std::vector<std::string>>(
         "--set",
         [&context](const std::vector<std::string>& assignments) {
           for (const auto& assignment : assignments) {
             auto equals = assignment.find('=');
             if (equals == std::string::npos || equals == 0)
               throw CLI::ValidationError("--set", "expected KEY=VALUE, got '" + assignment + "'");
             context.overrides[assignment.substr(0, equals)] = assignment.substr(equals + 1);
           }
         },
         "Override a setting for this run, e.g. --set DB_PATH=/tmp/x.db (wins over the environment "
         "and the env file); repeatable")
      ->type_name("KEY=VALUE");

  register_config_commands(app, context);
  register_migrate_commands(app, context);
  register_db_commands(app, context);
  register_vector_commands(app, context);
  register_backup_commands(app, context);
  register_serve_commands(app, context);
  register_mcp_command(app, context);
  register_memory_commands(app, context);
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks (writes, pool, vectors, backup, memory)");
  bench->require_subcommand(1);
  register_bench_writes(*bench, context);
  register_bench_pool(*bench, context);
  register_bench_vectors(*bench, context);
  register_bench_backup(*bench, context);
  register_bench_memory(*bench, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return kExitOk;
}

}  // namespace
}  // namespace lunadb::cli

int main(int argc, char** argv) {
  using namespace lunadb;
  try {
    return cli::run(argc, argv);
  } catch (const cli::Exit& exit) {
    return exit.code;
  } catch (const Error& error) {
    std::fflush(stdout);
    std::cerr << "lunadb: " << error.what() << '\n';
    return cli::exit_code_for(error);
  } catch (const std::exception& error) {
    std::fflush(stdout);
    std::cerr << "lunadb: unexpected error: " << error.what() << '\n';
    return cli::kExitFailure;
  }
}
