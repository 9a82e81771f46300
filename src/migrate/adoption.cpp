#include "migrate/adoption.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <set>

#include "migrate/operations.hpp"

namespace lunadb::migrate {

namespace {

// The schema the revisions build up to and including `revision`, replayed in memory.
schema::Schema schema_at(const RevisionSet& revisions, std::string_view revision, const sql::Dialect& dialect) {
  schema::Schema state;
  for (const auto& id : revisions.topological(revisions.position(revision)))
    for (const auto& op : revisions.get(id).upgrade) render_operation(op, revisions.get(id), state, dialect);
  return state;
}

// Types that a database made by SQLAlchemy may report differently from lunadb's rendering but
// that hold the same values: every integer width (Luna's ids are INTEGER, SQLite reports an
// INTEGER PRIMARY KEY as integer), and text with or without a bound.
int type_family(schema::TypeKind kind) {
  using K = schema::TypeKind;
  switch (kind) {
    case K::id:
    case K::smallint:
    case K::integer:
    case K::bigint: return 0;
    case K::string:
    case K::text: return 1;
    default: return 2 + static_cast<int>(kind);
  }
}

const char* kind_name(schema::TypeKind kind) {
  using K = schema::TypeKind;
  switch (kind) {
    case K::id: return "integer primary key";
    case K::smallint: return "smallint";
    case K::integer: return "integer";
    case K::bigint: return "bigint";
    case K::real: return "float";
    case K::boolean: return "boolean";
    case K::string: return "string";
    case K::text: return "text";
    case K::json: return "json";
    case K::timestamp: return "datetime";
    case K::blob: return "blob";
  }
  return "?";
}

bool has_index_named(const schema::Table& table, const std::string& name) {
  return std::any_of(table.indexes.begin(), table.indexes.end(), [&](const auto& i) { return i.name == name; }) ||
         std::any_of(table.uniques.begin(), table.uniques.end(), [&](const auto& u) { return u.name == name; });
}

}  // namespace

Adoption inspect_adoption(sql::Connection& connection, const RevisionSet& revisions, const std::vector<std::string>& rows) {
  Adoption out;
  if (!rows.empty()) {
    out.state = Adoption::State::managed;
    out.revision = fmt::format("{}", fmt::join(rows, ", "));
    return out;
  }
  const sql::Dialect& dialect = connection.dialect();
  const schema::Schema live = dialect.introspect(connection);
  if (!revisions.find(kLunaInitialRevision) || !revisions.find(kLunaModelIndexesRevision)) {
    out.state = live.tables.empty() ? Adoption::State::empty : Adoption::State::mismatch;
    if (!live.tables.empty())
      out.differences.push_back(fmt::format("the revisions ({}) do not contain Luna's revisions {} and {}",
                                            revisions.origin(), kLunaInitialRevision, kLunaModelIndexesRevision));
    return out;
  }
  const schema::Schema luna = schema_at(revisions, kLunaInitialRevision, dialect);
  const bool any_luna_table = std::any_of(luna.tables.begin(), luna.tables.end(),
                                          [&](const auto& t) { return live.find_table(t.name) != nullptr; });
  if (!any_luna_table) {
    out.state = Adoption::State::empty;
    for (const auto& table : live.tables) out.notes.push_back(fmt::format("table {} is not one of Luna's", table.name));
    return out;
  }

  for (const auto& expected : luna.tables) {
    const schema::Table* table = live.find_table(expected.name);
    if (!table) {
      out.differences.push_back(fmt::format("table {} is missing", expected.name));
      continue;
    }
    for (const auto& column : expected.columns) {
      const schema::Column* found = table->find_column(column.name);
      if (!found) {
        out.differences.push_back(fmt::format("column {}.{} is missing", expected.name, column.name));
      } else if (type_family(found->type.kind) != type_family(column.type.kind)) {
        out.differences.push_back(fmt::format("column {}.{} is {}, Luna's is {}", expected.name, column.name,
                                              kind_name(found->type.kind), kind_name(column.type.kind)));
      } else if (found->nullable != column.nullable) {
        out.notes.push_back(fmt::format("column {}.{} is {} (Luna's is {}); kept", expected.name, column.name,
                                        found->nullable ? "NULL" : "NOT NULL", column.nullable ? "NULL" : "NOT NULL"));
      }
    }
    for (const auto& column : table->columns) {
      if (!expected.find_column(column.name))
        out.notes.push_back(fmt::format("column {}.{} is not Luna's; kept", expected.name, column.name));
    }
  }
  for (const auto& table : live.tables) {
    if (!luna.find_table(table.name)) out.notes.push_back(fmt::format("table {} is not Luna's; kept", table.name));
  }

  // create_all() makes the indexes Luna's models declare; Luna's alembic 001 does not. Some but not
  // all of them means neither revision describes the database, and upgrading would collide.
  const schema::Schema with_indexes = schema_at(revisions, kLunaModelIndexesRevision, dialect);
  std::vector<std::string> present, absent;
  for (const auto& table : with_indexes.tables) {
    const schema::Table* base = luna.find_table(table.name);
    const schema::Table* found = live.find_table(table.name);
    for (const auto& index : table.indexes) {
      if (base && has_index_named(*base, index.name)) continue;
      (found && has_index_named(*found, index.name) ? present : absent).push_back(table.name + "." + index.name);
    }
  }
  if (!present.empty() && !absent.empty()) {
    out.differences.push_back(fmt::format("some of the indexes Luna's models declare exist ({}) and some do not ({})",
                                          fmt::join(present, ", "), fmt::join(absent, ", ")));
  }
  if (!out.differences.empty()) {
    out.state = Adoption::State::mismatch;
    return out;
  }
  out.state = Adoption::State::adoptable;
  out.revision = absent.empty() ? kLunaModelIndexesRevision : kLunaInitialRevision;
  return out;
}

}  // namespace lunadb::migrate
