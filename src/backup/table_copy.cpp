#include "backup/table_copy.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "lunadb/error.hpp"
#include "sql/dialect.hpp"

namespace lunadb::backup::detail {

using schema::TypeKind;

namespace {
// Bound parameters per statement stay under every backend's limit (SQLite's old 999, SQL Server's 2100).
constexpr std::size_t kMaxParameters = 900;
}  // namespace

struct RowDigest::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

RowDigest::RowDigest() : impl_(std::make_unique<Impl>()) {
  if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1) throw Error(ErrorKind::internal, "SHA-256 is not available");
}
RowDigest::~RowDigest() = default;

void RowDigest::add_row(const schema::Table& table, const std::vector<sql::Value>& row) {
  std::string text;
  for (std::size_t c = 0; c < row.size(); ++c) {
    const sql::Value& v = row[c];
    if (c) text += '\x1f';
    if (sql::is_null(v)) {
      text += "\x01NULL";
    } else if (const auto* b = std::get_if<bool>(&v)) {
      text += *b ? "true" : "false";
    } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
      text += std::to_string(*i);
    } else if (const auto* d = std::get_if<double>(&v)) {
      text += fmt::format("{}", *d);
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      if (table.columns[c].type.kind == TypeKind::json) {
        // MySQL's JSON type re-serialises documents; compare what they mean.
        const auto parsed = nlohmann::json::parse(*s, nullptr, false);
        text += parsed.is_discarded() ? *s : parsed.dump();
      } else {
        text += *s;
      }
    } else if (const auto* t = std::get_if<sql::Timestamp>(&v)) {
      text += sql::format_timestamp(*t);
    } else if (const auto* blob = std::get_if<sql::Blob>(&v)) {
      for (auto byte : blob->bytes) text += fmt::format("{:02x}", byte);
    }
  }
  text += '\x1e';
  EVP_DigestUpdate(impl_->ctx, text.data(), text.size());
}

std::string RowDigest::hex() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(impl_->ctx, digest.data(), &length);
  std::string out;
  for (unsigned int i = 0; i < length; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

std::vector<sql::Value> read_row(const schema::Table& table, const sql::Statement& row) {
  std::vector<sql::Value> out;
  out.reserve(table.columns.size());
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    const int column = static_cast<int>(c);
    if (row.is_null(column)) {
      out.emplace_back();
      continue;
    }
    switch (table.columns[c].type.kind) {
      case TypeKind::id:
      case TypeKind::smallint:
      case TypeKind::integer:
      case TypeKind::bigint: out.emplace_back(row.get_int64(column)); break;
      case TypeKind::real: out.emplace_back(row.get_double(column)); break;
      case TypeKind::boolean: out.emplace_back(row.get_bool(column)); break;
      case TypeKind::string:
      case TypeKind::text:
      case TypeKind::json: out.emplace_back(row.get_text(column)); break;
      case TypeKind::timestamp: out.emplace_back(row.get_timestamp(column)); break;
      case TypeKind::blob: out.emplace_back(row.get_blob(column)); break;
    }
  }
  return out;
}

std::string select_all_sql(const sql::Dialect& dialect, const schema::Table& table) {
  std::vector<std::string> columns;
  for (const auto& c : table.columns) columns.push_back(c.name);
  std::string sql = "SELECT " + dialect.quoted_list(columns) + " FROM " + dialect.quote(table.name);
  if (!table.primary_key.empty()) sql += " ORDER BY " + dialect.quoted_list(table.primary_key);
  return sql;
}

void for_each_row(sql::Connection& connection, const schema::Table& table, std::size_t page_rows,
                  const std::function<void(std::vector<sql::Value>&&)>& row) {
  std::size_t key_column = table.columns.size();
  if (table.primary_key.size() == 1) {
    for (std::size_t c = 0; c < table.columns.size(); ++c) {
      if (table.columns[c].name == table.primary_key.front() && table.columns[c].type.kind == TypeKind::id) key_column = c;
    }
  }
  const auto& dialect = connection.dialect();
  if (key_column == table.columns.size()) {  // no integer key to page by: small tables (alembic_version)
    auto st = connection.prepare(select_all_sql(dialect, table));
    while (st->step()) row(read_row(table, *st));
    return;
  }
  std::vector<std::string> columns;
  for (const auto& c : table.columns) columns.push_back(c.name);
  const std::string key = dialect.quote(table.columns[key_column].name);
  const std::string page_sql =
      dialect.paginate("SELECT " + dialect.quoted_list(columns) + " FROM " + dialect.quote(table.name) + " WHERE " + key + " > ? ORDER BY " + key,
                       static_cast<std::int64_t>(std::max<std::size_t>(page_rows, 1)), 0);
  std::int64_t last = std::numeric_limits<std::int64_t>::min();
  for (;;) {
    auto st = connection.prepare(page_sql);
    st->bind(1, last);
    std::size_t got = 0;
    while (st->step()) {
      auto values = read_row(table, *st);
      last = std::get<std::int64_t>(values[key_column]);
      row(std::move(values));
      ++got;
    }
    if (got < page_rows) return;
  }
}

std::pair<std::uint64_t, std::string> digest_table(sql::Connection& connection, const schema::Table& table) {
  RowDigest digest;
  std::uint64_t rows = 0;
  for_each_row(connection, table, 10000, [&](std::vector<sql::Value>&& row) {
    digest.add_row(table, row);
    ++rows;
  });
  return {rows, digest.hex()};
}

TableWriter::TableWriter(sql::Connection& target, const schema::Table& table, std::size_t batch_rows)
    : target_(target), table_(table), batch_rows_(std::max<std::size_t>(1, batch_rows)) {
  for (const auto& c : table.columns) columns_.push_back(c.name);
  batch_rows_ = std::min(batch_rows_, std::max<std::size_t>(1, kMaxParameters / columns_.size()));
  if (target_.backend() == Backend::postgresql) batch_rows_ = std::max<std::size_t>(batch_rows, 1);  // COPY has no such limit
}

void TableWriter::add(std::vector<sql::Value> row) {
  for (auto& v : row) pending_.push_back(std::move(v));
  if (++pending_rows_ >= batch_rows_) flush();
}

void TableWriter::flush() {
  if (pending_rows_ == 0) return;
  if (!target_.copy_rows(table_.name, columns_, pending_)) {
    const auto& dialect = target_.dialect();
    std::string one = "(";
    for (std::size_t c = 0; c < columns_.size(); ++c) one += c ? ",?" : "?";
    one += ")";
    std::string sql = "INSERT INTO " + dialect.quote(table_.name) + " (" + dialect.quoted_list(columns_) + ") VALUES ";
    for (std::size_t r = 0; r < pending_rows_; ++r) sql += (r ? "," : "") + one;
    auto st = target_.prepare(sql);
    st->bind_all(pending_);
    st->execute();
  }
  pending_.clear();
  pending_rows_ = 0;
}

void begin_snapshot(sql::Connection& source) {
  switch (source.backend()) {
    case Backend::postgresql: source.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); return;
    case Backend::mysql: source.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); return;
    case Backend::mssql:
      // Without it SQL Server reads committed rows table by table: no single moment.
      source.execute("SET TRANSACTION ISOLATION LEVEL SNAPSHOT");
      source.begin(sql::TransactionMode::read);
      return;
    case Backend::sqlite: source.begin(sql::TransactionMode::read); return;
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

std::vector<std::string> user_rows(sql::Connection& c) {
  std::vector<std::string> out;
  for (const auto& table : schema::luna_schema().tables) {
    std::uint64_t rows = 0;
    try {
      auto st = c.prepare("SELECT COUNT(*) FROM " + c.dialect().quote(table.name));
      if (st->step()) rows = static_cast<std::uint64_t>(st->get_int64(0));
    } catch (const Error&) {
      if (c.in_transaction()) c.rollback();
      continue;
    }
    const bool seeded = table.name == "personality_state" && rows <= 1;
    if (rows > 0 && !seeded) out.push_back(fmt::format("{} {}", table.name, rows));
  }
  return out;
}

void empty_tables(sql::Connection& target, const std::vector<const schema::Table*>& tables) {
  const auto& d = target.dialect();
  for (const schema::Table* table : tables) {
    for (const auto& fk : table->foreign_keys) {
      if (fk.referred_table != table->name) continue;
      for (const auto& column : fk.columns) {
        target.execute("UPDATE " + d.quote(table->name) + " SET " + d.quote(column) + " = NULL WHERE " + d.quote(column) + " IS NOT NULL");
      }
    }
  }
  for (auto it = tables.rbegin(); it != tables.rend(); ++it) target.execute("DELETE FROM " + d.quote((*it)->name));
}

void advance_identity(sql::Connection& target, const schema::Table& table) {
  const schema::Column* id = nullptr;
  for (const auto& c : table.columns) {
    if (c.type.kind == TypeKind::id) id = &c;
  }
  if (!id) return;
  const auto& d = target.dialect();
  const std::string max_sql = "SELECT COALESCE(MAX(" + d.quote(id->name) + "), 0) FROM " + d.quote(table.name);
  auto st = target.prepare(max_sql);
  const std::int64_t highest = st->step() ? st->get_int64(0) : 0;
  st.reset();
  switch (target.backend()) {
    case Backend::sqlite: return;  // INTEGER PRIMARY KEY continues after the highest rowid by itself
    case Backend::postgresql: {
      // setval(seq, n, false): the next id is n.
      auto set = target.prepare("SELECT setval(pg_get_serial_sequence(?, ?), ?, false)");
      set->bind(1, d.quote(table.name));
      set->bind(2, id->name);
      set->bind(3, highest + 1);
      set->step();
      return;
    }
    case Backend::mysql:
      target.execute("ALTER TABLE " + d.quote(table.name) + " AUTO_INCREMENT = " + std::to_string(highest + 1));
      return;
    case Backend::mssql:
      target.execute("DBCC CHECKIDENT ('" + table.name + "', RESEED, " + std::to_string(highest) + ")");
      return;
  }
}

TableLoader::TableLoader(sql::Connection& target, const schema::Table& table, std::size_t batch_rows)
    : target_(target), table_(table), writer_(target, table, batch_rows) {
  identity_insert_ = target.backend() == Backend::mssql &&
                     std::any_of(table.columns.begin(), table.columns.end(), [](const auto& c) { return c.type.kind == TypeKind::id; });
  if (identity_insert_) target.execute("SET IDENTITY_INSERT " + target.dialect().quote(table.name) + " ON");
  for (const auto& fk : table.foreign_keys) {
    if (fk.referred_table != table.name) continue;
    for (const auto& column : fk.columns) {
      for (std::size_t c = 0; c < table.columns.size(); ++c) {
        if (table.columns[c].name == column) self_references_.push_back(c);
      }
    }
  }
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    if (!table.primary_key.empty() && table.columns[c].name == table.primary_key.front()) key_column_ = c;
  }
  if (target.backend() == Backend::postgresql) defer_indexes_and_foreign_keys();
}

void TableLoader::defer_indexes_and_foreign_keys() {
  const auto& d = target_.dialect();
  const std::string quoted = d.quote(table_.name);
  std::vector<std::string> drops;
  // Indexes that no constraint uses (a primary key's or unique constraint's stay, and so does
  // any index a foreign key of another table leans on).
  auto indexes = target_.prepare(
      "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
      "WHERE x.indrelid = ?::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
      "ORDER BY i.relname");
  indexes->bind(1, quoted);
  while (indexes->step()) {
    drops.push_back("DROP INDEX " + d.quote(indexes->get_text(0)));
    recreate_.push_back(indexes->get_text(1));
  }
  auto foreign_keys = target_.prepare(
      "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = ?::regclass AND contype = 'f' "
      "ORDER BY conname");
  foreign_keys->bind(1, quoted);
  while (foreign_keys->step()) {
    drops.push_back("ALTER TABLE " + quoted + " DROP CONSTRAINT " + d.quote(foreign_keys->get_text(0)));
    recreate_.push_back("ALTER TABLE " + quoted + " ADD CONSTRAINT " + d.quote(foreign_keys->get_text(0)) + " " +
                        foreign_keys->get_text(1));
  }
  for (const auto& drop : drops) target_.execute(drop);
}

void TableLoader::add(std::vector<sql::Value> row) {
  digest_.add_row(table_, row);
  ++rows_;
  if (!self_references_.empty()) {
    std::vector<sql::Value> values;
    bool any = false;
    for (auto c : self_references_) {
      values.push_back(row[c]);
      any = any || !sql::is_null(row[c]);
      row[c] = sql::Value{};
    }
    if (any) deferred_.emplace_back(row[key_column_], std::move(values));
  }
  writer_.add(std::move(row));
}

std::pair<std::uint64_t, std::string> TableLoader::finish() {
  writer_.flush();
  if (!deferred_.empty()) {
    // A few hundred rows per UPDATE (CASE on the key, WHERE key IN the same keys): one statement
    // per row made the round trips most of what facts cost (10k of them on 100k facts). CASE is
    // the one form every backend takes; a key not listed cannot match, and a column left NULL
    // in a row is set to the NULL it already holds.
    const auto& d = target_.dialect();
    const std::string key = d.quote(table_.columns[key_column_].name);
    const std::size_t per_row = 2 * self_references_.size() + 1;
    const std::size_t chunk = std::max<std::size_t>(1, kMaxParameters / per_row);
    std::vector<sql::Value> parameters;
    for (std::size_t begin = 0; begin < deferred_.size(); begin += chunk) {
      const std::size_t end = std::min(deferred_.size(), begin + chunk);
      std::string sql = "UPDATE " + d.quote(table_.name) + " SET ";
      parameters.clear();
      for (std::size_t i = 0; i < self_references_.size(); ++i) {
        sql += (i ? ", " : "") + d.quote(table_.columns[self_references_[i]].name) + " = CASE " + key;
        for (std::size_t r = begin; r < end; ++r) {
          sql += " WHEN ? THEN ?";
          parameters.push_back(deferred_[r].first);
          parameters.push_back(deferred_[r].second[i]);
        }
        sql += " END";
      }
      sql += " WHERE " + key + " IN (";
      for (std::size_t r = begin; r < end; ++r) {
        sql += r == begin ? "?" : ",?";
        parameters.push_back(deferred_[r].first);
      }
      sql += ")";
      auto update = target_.prepare(sql);
      update->bind_all(parameters);
      update->execute();
    }
    deferred_.clear();
  }
  if (identity_insert_) target_.execute("SET IDENTITY_INSERT " + target_.dialect().quote(table_.name) + " OFF");
  // Indexes first: a foreign key is checked faster with them in place.
  for (const auto& statement : recreate_) target_.execute(statement);
  recreate_.clear();
  return {rows_, digest_.hex()};
}

}  // namespace lunadb::backup::detail
