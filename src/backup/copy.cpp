// `lunadb copy --to URL`: every row of the configured database into another backend's empty
// database at the same revision, in one target transaction, verified by counts and checksums.

#include <chrono>
#include <set>

#include <fmt/format.h>

#include "backup/table_copy.hpp"
#include "lunadb/backup.hpp"
#include "lunadb/error.hpp"
#include "lunadb/migrate.hpp"
#include "schema/model.hpp"
#include "sql/dialect.hpp"
#include "sql/driver.hpp"

namespace lunadb::backup {
namespace {

using migrate::Migrator;

// Rows read from the source per statement: bounds memory on large tables (the drivers buffer results).
constexpr std::size_t kPageRows = 5000;

}  // namespace

CopyResult copy_database(const Settings& settings, const CopyOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  auto say = [&](const std::string& line) {
    if (options.progress) options.progress(line);
  };
  if (options.target_url.empty()) throw Error(ErrorKind::usage, "copy: give --to URL (the target database)");
  const DbUrl target_url = parse_db_url(options.target_url, "--to");
  if (target_url.redacted() == settings.db.redacted()) {
    throw Error(ErrorKind::usage, "copy: --to names the configured database itself (" + target_url.redacted() + ")");
  }
  Settings target_settings = settings;
  target_settings.db = target_url;
  target_settings.db_url = options.target_url;

  CopyResult result;
  Migrator source_migrator(settings);
  const auto source_revisions = source_migrator.current();
  const auto heads = source_migrator.heads();
  if (source_revisions.empty()) throw Error(ErrorKind::migration, "copy: the source database (" + settings.db.redacted() + ") has no revision; run `lunadb upgrade head` on it first");
  if (source_revisions != heads) {
    throw Error(ErrorKind::migration, "copy: the source database is at revision " + fmt::format("{}", fmt::join(source_revisions, ",")) +
                                          ", not at head (" + fmt::format("{}", fmt::join(heads, ",")) + "); run `lunadb upgrade head` on it first");
  }
  result.revision = source_revisions.front();

  auto source = sql::open_connection(settings.db, sql::connect_options_from(settings));
  auto target = sql::open_connection(target_url, sql::connect_options_from(settings));
  // The target: empty (tables absent, or holding only what the migrations write), and at no
  // revision or at the source's. An interrupted copy committed nothing, so it is such a target.
  Migrator target_migrator(target_settings, [&](const std::string& line) { say(line); });
  const auto target_revisions = target_migrator.current();
  if (!target_revisions.empty() && target_revisions != source_revisions) {
    throw Error(ErrorKind::migration, "copy: the target (" + target_url.redacted() + ") is at revision " +
                                          fmt::format("{}", fmt::join(target_revisions, ",")) + " and the source at " + result.revision +
                                          "; copy into an empty database or one at the source's revision");
  }
  const auto held = detail::user_rows(*target);
  if (!held.empty()) {
    throw Error(ErrorKind::usage, "copy: the target (" + target_url.redacted() + ") is not empty (" + fmt::format("{}", fmt::join(held, ", ")) +
                                      "); copy only into an empty database");
  }
  if (target_revisions.empty()) {
    say("bringing the target to revision " + result.revision);
    target_migrator.upgrade(result.revision);
  }

  const auto& tables = schema::luna_schema().tables;
  detail::begin_snapshot(*source);
  try {
    sql::Transaction write(*target);
    std::vector<const schema::Table*> all;
    for (const auto& table : tables) all.push_back(&table);
    detail::empty_tables(*target, all);
    for (const auto& table : tables) {
      detail::TableLoader loader(*target, table, options.batch_rows);
      detail::for_each_row(*source, table, kPageRows, [&](std::vector<sql::Value>&& row) { loader.add(std::move(row)); });
      const auto [rows, sha] = loader.finish();
      result.tables.push_back({table.name, rows, sha});
      say(fmt::format("copied {}: {} rows", table.name, rows));
    }
    write.commit();
  } catch (...) {
    detail::end_snapshot(*source);
    throw;
  }
  detail::end_snapshot(*source);
  for (const auto& table : tables) detail::advance_identity(*target, table);

  // Verified by reading the target back: counts and the backend-neutral checksums.
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const auto [rows, sha] = detail::digest_table(*target, tables[i]);
    if (rows != result.tables[i].rows || sha != result.tables[i].sha256) {
      result.differences.push_back(fmt::format("table {}: source {} rows (sha256 {}), target {} rows (sha256 {})", tables[i].name,
                                               result.tables[i].rows, result.tables[i].sha256.substr(0, 12), rows, sha.substr(0, 12)));
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace lunadb::backup
