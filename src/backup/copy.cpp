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

using detail::TableWriter;
using migrate::Migrator;

// A read transaction that sees one snapshot of the whole database for as long as it lasts.
void begin_snapshot(sql::Connection& source) {
  switch (source.backend()) {
    case Backend::postgresql: source.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); return;
    case Backend::mysql: source.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT"); return;
    case Backend::sqlite:
    case Backend::mssql: source.begin(sql::TransactionMode::read); return;
  }
}

void end_snapshot(sql::Connection& source) noexcept {
  try {
    if (source.backend() == Backend::postgresql || source.backend() == Backend::mysql) {
      source.execute("COMMIT");
    } else {
      source.commit();
    }
  } catch (...) {
  }
}

// Rows per table of the schema's tables; a table that does not exist counts as absent.
std::map<std::string, std::uint64_t> count_existing(sql::Connection& c) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& table : schema::luna_schema().tables) {
    try {
      auto st = c.prepare("SELECT COUNT(*) FROM " + c.dialect().quote(table.name));
      if (st->step()) out[table.name] = static_cast<std::uint64_t>(st->get_int64(0));
    } catch (const Error&) {
      if (c.in_transaction()) c.rollback();
    }
  }
  return out;
}

// Rows the migrations themselves write (the personality_state singleton): not user data.
bool only_seeded(const std::string& table, std::uint64_t rows) { return rows == 0 || (table == "personality_state" && rows <= 1); }

std::vector<std::size_t> self_referencing_columns(const schema::Table& table) {
  std::vector<std::size_t> out;
  for (const auto& fk : table.foreign_keys) {
    if (fk.referred_table != table.name) continue;
    for (const auto& column : fk.columns) {
      for (std::size_t c = 0; c < table.columns.size(); ++c) {
        if (table.columns[c].name == column) out.push_back(c);
      }
    }
  }
  return out;
}

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
  std::vector<std::string> held;
  for (const auto& [table, rows] : count_existing(*target)) {
    if (!only_seeded(table, rows)) held.push_back(fmt::format("{} {}", table, rows));
  }
  if (!held.empty()) {
    throw Error(ErrorKind::usage, "copy: the target (" + target_url.redacted() + ") is not empty (" + fmt::format("{}", fmt::join(held, ", ")) +
                                      "); copy only into an empty database");
  }
  if (target_revisions.empty()) {
    say("bringing the target to revision " + result.revision);
    target_migrator.upgrade(result.revision);
  }

  const auto& tables = schema::luna_schema().tables;
  begin_snapshot(*source);
  try {
    sql::Transaction write(*target);
    for (auto it = tables.rbegin(); it != tables.rend(); ++it) target->execute("DELETE FROM " + target->dialect().quote(it->name));
    for (const auto& table : tables) {
      const bool identity_insert = target->backend() == Backend::mssql &&
                                   std::any_of(table.columns.begin(), table.columns.end(), [](const auto& c) { return c.type.kind == schema::TypeKind::id; });
      if (identity_insert) target->execute("SET IDENTITY_INSERT " + target->dialect().quote(table.name) + " ON");
      const auto self_refs = self_referencing_columns(table);
      std::size_t key_column = 0;
      for (std::size_t c = 0; c < table.columns.size(); ++c) {
        if (!table.primary_key.empty() && table.columns[c].name == table.primary_key.front()) key_column = c;
      }
      std::vector<std::pair<sql::Value, std::vector<sql::Value>>> deferred;  // (primary key, self-referencing values)
      detail::RowDigest digest;
      TableWriter writer(*target, table, options.batch_rows);
      std::uint64_t rows = 0;
      auto st = source->prepare(detail::select_all_sql(source->dialect(), table));
      while (st->step()) {
        auto row = detail::read_row(table, *st);
        digest.add_row(table, row);
        if (!self_refs.empty()) {
          // A row may point at a later row of its own table: insert NULL, set it once all are in.
          std::vector<sql::Value> values;
          bool any = false;
          for (auto c : self_refs) {
            values.push_back(row[c]);
            any = any || !sql::is_null(row[c]);
            row[c] = sql::Value{};
          }
          if (any) deferred.emplace_back(row[key_column], std::move(values));
        }
        writer.add(std::move(row));
        ++rows;
      }
      writer.flush();
      if (!deferred.empty()) {
        const auto& d = target->dialect();
        std::string sql = "UPDATE " + d.quote(table.name) + " SET ";
        for (std::size_t i = 0; i < self_refs.size(); ++i) sql += (i ? ", " : "") + d.quote(table.columns[self_refs[i]].name) + " = ?";
        sql += " WHERE " + d.quote(table.columns[key_column].name) + " = ?";
        auto update = target->prepare(sql);
        for (auto& [key, values] : deferred) {
          update->reset();
          values.push_back(key);
          update->bind_all(values);
          update->execute();
        }
      }
      if (identity_insert) target->execute("SET IDENTITY_INSERT " + target->dialect().quote(table.name) + " OFF");
      result.tables.push_back({table.name, rows, digest.hex()});
      say(fmt::format("copied {}: {} rows", table.name, rows));
    }
    write.commit();
  } catch (...) {
    end_snapshot(*source);
    throw;
  }
  end_snapshot(*source);
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
