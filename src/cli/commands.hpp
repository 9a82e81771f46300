#pragma once
// The CLI is one CLI11 app; each command group lives in its own file and registers itself here.
// Exit codes: 0 ok, 1 failure, 2 usage or configuration error.

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "lunadb/config.hpp"

namespace lunadb::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Shared by all commands. Settings are loaded lazily (after parsing), so `--help` works even
// with a broken .env.
struct Context {
  std::map<std::string, std::string> overrides;  // from --set KEY=VALUE / tests
  const Settings& settings();                      // loads on first use; throws Error(config)

 private:
  std::optional<Settings> settings_;
};

// Each register_* adds subcommands to `app`; their callbacks run inside main's error handling,
// which maps lunadb::Error kinds to exit codes and prints "lunadb: <message>" to stderr.
// A callback signals its exit code by throwing cli::Exit or returning normally (0).
struct Exit {
  int code;
};

void register_config_commands(CLI::App& app, Context& context);    // config, status
void register_migrate_commands(CLI::App& app, Context& context);   // upgrade, downgrade, current, history, heads, stamp, revision, check
void register_db_commands(CLI::App& app, Context& context);        // ping
void register_vector_commands(CLI::App& app, Context& context);    // vectors ...
void register_backup_commands(CLI::App& app, Context& context);    // backup, backup list/verify, restore
void register_vector_import_chroma(CLI::App& group, Context& context);  // vectors import-chroma
void register_vector_copy(CLI::App& group, Context& context);           // vectors copy (src/cli/vector_copy.cpp)
// Where VECTOR_BACKEND's store is, for messages: CHROMA_PATH, or VECTOR_URL without its password.
std::string store_location(const Settings& settings);
void register_serve_commands(CLI::App& app, Context& context);     // serve (src/cli/serve_commands.cpp)
void register_mcp_command(CLI::App& app, Context& context);        // mcp (src/cli/mcp_command.cpp)
void register_memory_commands(CLI::App& app, Context& context);    // memory ... (src/cli/memory_commands.cpp)
// `bench` is created by main; each benchmark adds itself as a subcommand of it.
void register_bench_writes(CLI::App& bench, Context& context);   // bench writes   (src/cli/bench_writes.cpp)
void register_bench_pool(CLI::App& bench, Context& context);     // bench pool     (src/cli/bench_pool.cpp)
void register_bench_vectors(CLI::App& bench, Context& context);  // bench vectors  (src/cli/bench_vectors.cpp)
void register_bench_backup(CLI::App& bench, Context& context);   // bench backup   (src/cli/bench_backup.cpp)
void register_bench_memory(CLI::App& bench, Context& context);   // bench memory   (src/cli/bench_memory.cpp)

}  // namespace lunadb::cli
