// `lunadb backup [--to DIR] [--keep N] [--daily]`, `backup list`, `backup verify SET` and
// `lunadb restore SET [--force]` (docs/backup.md).

#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>

#include "cli/commands.hpp"
#include "lunadb/backup.hpp"
#include "lunadb/error.hpp"

namespace lunadb::cli {
namespace fs = std::filesystem;

namespace {

fs::path default_backup_directory(const Settings& settings) { return fs::absolute(settings.data_dir / "backups"); }

// SET is a folder path, or the name of a set in the backup folder.
fs::path resolve_set(const Settings& settings, const std::string& set, const std::string& directory) {
  const fs::path as_given(set);
  if (fs::is_directory(as_given)) return fs::absolute(as_given);
  const fs::path in_folder = (directory.empty() ? default_backup_directory(settings) : fs::absolute(directory)) / set;
  if (fs::is_directory(in_folder)) return in_folder;
  throw Error(ErrorKind::not_found, "backup set '" + set + "' not found (neither a folder nor a set in " +
                                        in_folder.parent_path().string() + "); `lunadb backup list` shows the sets");
}

std::uint64_t total_rows(const backup::Manifest& m) {
  std::uint64_t n = 0;
  for (const auto& [table, rows] : m.rows) n += rows;
  return n;
}

std::uint64_t total_records(const backup::Manifest& m) {
  std::uint64_t n = 0;
  for (const auto& c : m.collections) n += c.records;
  return n;
}

}  // namespace

void register_backup_commands(CLI::App& app, Context& context) {
  struct Options {
    std::string directory;
    std::size_t keep = 7;
    bool daily = false;
    bool native = false;
    bool json = false;
    std::string set;
    bool force = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* backup = app.add_subcommand(
      "backup", "Back up the database (SQLite as a file, a server as a compressed logical dump) and the vector store into a "
                "verified set luna-YYYYMMDD-HHMMSS (docs/backup.md)");
  backup->add_option("--to", options->directory, "Folder of the backup sets (default $LUNA_DATA_DIR/backups)");
  backup->add_option("--keep", options->keep, "Complete sets to keep; older ones are pruned (default 7)")->check(CLI::Range(1, 100000));
  backup->add_flag("--daily", options->daily, "Do nothing when a set of today (UTC) exists (for an hourly timer)");
  backup->add_flag("--native", options->native, "PostgreSQL: also run pg_dump -Fc on the same snapshot, when it is installed");
  backup->require_subcommand(0, 1);
  backup->callback([&context, options, backup] {
    if (!backup->get_subcommands().empty()) return;
    backup::BackupOptions o;
    o.directory = options->directory;
    o.keep = options->keep;
    o.daily = options->daily;
    o.native = options->native;
    if (isatty(STDERR_FILENO)) o.progress = [](const std::string& line) { std::cerr << line << '\n'; };
    const auto result = backup::create_backup(context.settings(), o);
    for (const auto& note : result.notes) std::cerr << "lunadb: backup: " << note << '\n';
    if (!result.written) {
      std::cout << "a backup of today exists: " << result.set.string() << "; nothing to do\n";
      return;
    }
    std::cout << fmt::format("wrote {} ({} rows in {} tables, {} vector records in {} collections, {:.1f} MB), verified\n",
                             result.set.string(), total_rows(result.manifest), result.manifest.rows.size(),
                             total_records(result.manifest), result.manifest.collections.size(), double(result.bytes) / 1e6);
    for (const auto& pruned : result.pruned) std::cout << "pruned " << pruned.string() << '\n';
  });

  CLI::App* list = backup->add_subcommand("list", "List the complete backup sets, oldest first");
  list->add_option("--to", options->directory, "Folder of the backup sets (default $LUNA_DATA_DIR/backups)");
  list->add_flag("--json", options->json, "Print JSON");
  list->callback([&context, options] {
    const fs::path directory = options->directory.empty() ? default_backup_directory(context.settings()) : fs::absolute(options->directory);
    const auto sets = backup::list_backups(directory);
    if (options->json) {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (const auto& s : sets) {
        nlohmann::ordered_json row{{"name", s.name}, {"path", s.folder.string()}};
        if (s.manifest) {
          row["created_at"] = s.manifest->created_at;
          row["revision"] = s.manifest->revision;
          row["rows"] = total_rows(*s.manifest);
          row["vector_records"] = total_records(*s.manifest);
        } else {
          row["problem"] = s.problem;
        }
        out.push_back(std::move(row));
      }
      std::cout << out.dump(2) << '\n';
      return;
    }
    if (sets.empty()) {
      std::cout << "no backup sets in " << directory.string() << '\n';
      return;
    }
    for (const auto& s : sets) {
      if (s.manifest) {
        std::cout << fmt::format("{}  {}  revision {}  {} rows  {} vector records\n", s.name, s.manifest->created_at,
                                 s.manifest->revision.empty() ? "(none)" : s.manifest->revision, total_rows(*s.manifest),
                                 total_records(*s.manifest));
      } else {
        std::cout << fmt::format("{}  UNREADABLE: {}\n", s.name, s.problem);
      }
    }
  });

  CLI::App* verify = backup->add_subcommand("verify", "Check a set's checksums, then open each part and compare its counts");
  verify->add_option("set", options->set, "The set: a folder, or a name in the backup folder")->required();
  verify->add_option("--to", options->directory, "Folder of the backup sets (default $LUNA_DATA_DIR/backups)");
  verify->callback([&context, options] {
    const fs::path set = resolve_set(context.settings(), options->set, options->directory);
    const auto m = backup::verify_backup(set);
    std::cout << fmt::format("{}: ok ({} files, {} rows, {} vector records, revision {})\n", set.string(), m.files.size(),
                             total_rows(m), total_records(m), m.revision.empty() ? "(none)" : m.revision);
  });

  struct CopyArguments {
    std::string to;
    std::size_t batch = 1000;
  };
  auto copy_arguments = std::make_shared<CopyArguments>();
  CLI::App* copy = app.add_subcommand(
      "copy", "Copy every row of the configured database into another backend's empty database (SQLite, PostgreSQL, "
              "MySQL/MariaDB), bringing it to the same revision first; verified by counts and checksums");
  copy->add_option("--to", copy_arguments->to, "Target database URL, as DB_URL (e.g. postgresql://user:pw@host/luna)")->required();
  copy->add_option("--batch", copy_arguments->batch, "Rows per INSERT batch (default 1000)")->check(CLI::Range(1, 1000000));
  copy->callback([&context, copy_arguments] {
    backup::CopyOptions o;
    o.target_url = copy_arguments->to;
    o.batch_rows = copy_arguments->batch;
    if (isatty(STDERR_FILENO)) o.progress = [](const std::string& line) { std::cerr << line << '\n'; };
    const auto result = backup::copy_database(context.settings(), o);
    std::uint64_t rows = 0;
    for (const auto& t : result.tables) rows += t.rows;
    if (!result.differences.empty()) {
      for (const auto& d : result.differences) std::cerr << "lunadb: copy: " << d << '\n';
      throw Exit{kExitFailure};
    }
    std::cout << fmt::format("copied {} rows in {} tables at revision {} in {:.1f} s ({:.0f} rows/s); counts and checksums match\n", rows,
                             result.tables.size(), result.revision, result.seconds, result.seconds > 0 ? double(rows) / result.seconds : 0.0);
  });

  CLI::App* restore = app.add_subcommand(
      "restore", "Verify a backup set, then replace the configured database and the vector store with it (stop Luna first)");
  restore->add_option("set", options->set, "The set: a folder, or a name in the backup folder")->required();
  restore->add_option("--to", options->directory, "Folder of the backup sets (default $LUNA_DATA_DIR/backups)");
  restore->add_flag("--force", options->force, "Replace a database or vector store that is not empty");
  restore->callback([&context, options] {
    const Settings& settings = context.settings();
    const fs::path set = resolve_set(settings, options->set, options->directory);
    backup::RestoreOptions o;
    o.force = options->force;
    if (isatty(STDERR_FILENO)) o.progress = [](const std::string& line) { std::cerr << line << '\n'; };
    const auto result = backup::restore_backup(settings, set, o);
    if (!result.differences.empty()) {
      for (const auto& d : result.differences) std::cerr << "lunadb: restore: " << d << '\n';
      throw Exit{kExitFailure};
    }
    std::cout << fmt::format("restored {} ({} rows, {} vector records); counts match the manifest\n", set.string(),
                             total_rows(result.manifest), total_records(result.manifest));
  });
}

}  // namespace lunadb::cli
