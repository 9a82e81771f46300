// Alembic's commands under lunadb: upgrade, downgrade, current, history, heads, stamp, revision,
// check. Progress goes to stderr (as Alembic's INFO log does); results and --sql scripts to stdout.

#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "lunadb/error.hpp"
#include "lunadb/migrate.hpp"
#include "lunadb/pgvector.hpp"

namespace lunadb::cli {
namespace {

using migrate::Direction;
using migrate::Migrator;

Migrator::Log stderr_log() {
  return [](const std::string& line) { std::cerr << "INFO  " << line << '\n'; };
}

std::string flags(bool head, bool branch_point, bool current) {
  std::string out;
  if (branch_point) out += " (branchpoint)";
  if (head) out += " (head)";
  if (current) out += " (current)";
  return out;
}

struct Options {
  std::string target;
  bool sql = false;
  bool purge = false;
  bool autogenerate = false;
  bool verbose = false;
  bool dry_run = false;
  std::string message;
};

}  // namespace

void register_migrate_commands(CLI::App& app, Context& context) {
  auto options = std::make_shared<Options>();

  auto* upgrade = app.add_subcommand("upgrade", "Upgrade the database to a later revision (Alembic's `upgrade`)");
  upgrade->add_option("revision", options->target,
                      "head (default), heads, +N, REV, REV+N or a unique id prefix; with --sql also START:END")
      ->default_val("head");
  upgrade->add_flag("--sql", options->sql, "Print the SQL instead of running it; opens no database");
  upgrade->callback([options, &context] {
    Migrator migrator(context.settings(), stderr_log());
    if (options->sql) {
      std::cout << migrator.offline_sql(options->target, Direction::upgrade);
      return;
    }
    auto applied = migrator.upgrade(options->target);
    if (applied.empty()) std::cerr << "INFO  Nothing to upgrade: the database is already at the target\n";
    // The vector schema has its own chain on VECTOR_URL, at its head whenever the relational one is.
    if (context.settings().vector_backend == VectorBackend::pgvector && (options->target == "head" || options->target == "heads")) {
      auto vector_applied = vector::upgrade_pgvector_schema(context.settings(), [](const std::string& line) { std::cerr << line << '\n'; });
      if (vector_applied.empty()) std::cerr << "INFO  Nothing to upgrade in the vector schema: it is at its head\n";
    }
  });

  auto* downgrade = app.add_subcommand("downgrade", "Revert the database to a previous revision (Alembic's `downgrade`)");
  downgrade->add_option("revision", options->target, "base, -N, REV or REV-N; with --sql START:END (required)")->required();
  downgrade->add_flag("--sql", options->sql, "Print the SQL instead of running it; opens no database");
  downgrade->callback([options, &context] {
    Migrator migrator(context.settings(), stderr_log());
    if (options->sql) {
      std::cout << migrator.offline_sql(options->target, Direction::downgrade);
      return;
    }
    auto undone = migrator.downgrade(options->target);
    if (undone.empty()) std::cerr << "INFO  Nothing to downgrade: the database is already at the target\n";
  });

  auto* current = app.add_subcommand("current", "Show the revision(s) the database is at");
  current->add_flag("-v,--verbose", options->verbose, "Show the revisions' messages and dates");
  current->callback([options, &context] {
    Migrator migrator(context.settings(), stderr_log());
    auto rows = migrator.current();
    auto heads = migrator.heads();
    for (auto& row : rows) {
      bool is_head = std::find(heads.begin(), heads.end(), row) != heads.end();
      std::cout << row << (is_head ? " (head)" : "") << '\n';
    }
    if (rows.empty() && options->verbose) std::cout << "(base: no revision applied)\n";
  });

  auto* history = app.add_subcommand("history", "List the revisions, newest first, marking the database's current ones");
  history->add_flag("-v,--verbose", options->verbose, "Show dates and parents in full");
  history->callback([options, &context] {
    Migrator migrator(context.settings(), stderr_log());
    for (auto& r : migrator.history(true)) {
      std::string parents = r.down_revisions.empty() ? "<base>" : fmt::format("{}", fmt::join(r.down_revisions, ", "));
      std::cout << parents << " -> " << r.id << flags(r.is_head, r.is_branch_point, r.is_current) << ", " << r.message << '\n';
      if (options->verbose) std::cout << "    create date: " << r.create_date << '\n';
    }
  });

  auto* heads = app.add_subcommand("heads", "List the revisions without children (opens no database)");
  heads->callback([&context] {
    Migrator migrator(context.settings(), stderr_log());
    for (auto& head : migrator.heads()) std::cout << head << " (head)\n";
  });

  auto* stamp = app.add_subcommand("stamp", "Set the database's revision without running migrations");
  stamp->add_option("revision", options->target, "REV, head, heads or base")->required();
  stamp->add_flag("--purge", options->purge, "Replace alembic_version even when it holds revisions lunadb does not know");
  stamp->callback([options, &context] {
    Migrator migrator(context.settings(), stderr_log());
    migrator.stamp(options->target, options->purge);
  });

  auto* adopt = app.add_subcommand(
      "adopt", "Take over a database that Luna's create_all() made (no alembic_version): find its revision and stamp it");
  adopt->add_flag("--dry-run", options->dry_run, "Only report what matches and what differs; write nothing");
  adopt->callback([options, &context] {
    Migrator migrator(context.settings(), stderr_log());
    const migrate::Adoption adoption = options->dry_run ? migrator.inspect_adoption() : migrator.adopt();
    using State = migrate::Adoption::State;
    switch (adoption.state) {
      case State::managed:
        std::cout << "already under migration control at " << adoption.revision << "; nothing to adopt\n";
        break;
      case State::empty:
        std::cout << "no Luna tables here; nothing to adopt (`lunadb upgrade head` creates the schema)\n";
        break;
      case State::adoptable:
        std::cout << "a database made by Luna's create_all(): it matches revision " << adoption.revision << "\n";
        std::cout << (options->dry_run ? "would stamp " : "stamped ") << adoption.revision
                  << "; `lunadb upgrade head` adds what lunadb needs, keeping every row\n";
        break;
      case State::mismatch:
        std::cout << "Luna's tables are here but differ from Luna's schema, so no revision is stamped:\n";
        for (const auto& line : adoption.differences) std::cout << "  " << line << "\n";
        break;
    }
    for (const auto& line : adoption.notes) std::cout << "  note: " << line << "\n";
    if (adoption.state == State::mismatch) throw Exit{kExitFailure};
  });

  auto* revision = app.add_subcommand("revision", "Write a new revision file into LUNADB_MIGRATIONS_DIR or ./migrations/versions");
  revision->add_option("-m,--message", options->message, "What the revision does")->required();
  revision->add_flag("--autogenerate", options->autogenerate,
                     "Fill in the operations that bring the database to the C++ model (the database must be at head)");
  revision->callback([options, &context] {
    const Settings& settings = context.settings();
    Migrator migrator(settings, stderr_log());
    auto dir = settings.migrations_dir.value_or(std::filesystem::path("migrations") / "versions");
    auto path = options->autogenerate ? migrator.autogenerate(options->message, dir) : migrator.create_revision(options->message, dir);
    std::cout << path.string() << '\n';
  });

  auto* check = app.add_subcommand("check", "Exit 1 when the C++ model and the revisions' head disagree (for CI)");
  check->callback([&context] {
    Migrator migrator(context.settings(), stderr_log());
    auto differences = migrator.check();
    if (differences.empty()) {
      std::cout << "No new upgrade operations detected.\n";
      return;
    }
    std::cout << "New upgrade operations detected:\n";
    for (auto& d : differences) std::cout << "  " << d << '\n';
    std::cout.flush();
    throw Exit{kExitFailure};
  });
}

}  // namespace lunadb::cli
