#include "schema/model.hpp"

#include <algorithm>
#include <utility>

namespace lunadb::schema {

namespace {
constexpr std::pair<std::string_view, TypeKind> kTypeNames[] = {
    {"id", TypeKind::id},           {"smallint", TypeKind::smallint}, {"integer", TypeKind::integer},
    {"bigint", TypeKind::bigint},   {"real", TypeKind::real},         {"boolean", TypeKind::boolean},
    {"string", TypeKind::string},   {"text", TypeKind::text},         {"json", TypeKind::json},
    {"timestamp", TypeKind::timestamp}, {"blob", TypeKind::blob},
};
}  // namespace

std::string_view type_kind_name(TypeKind kind) {
  for (const auto& [name, k] : kTypeNames) {
    if (k == kind) return name;
  }
  return "text";
}

std::optional<TypeKind> type_kind_from_name(std::string_view name) {
  for (const auto& [n, kind] : kTypeNames) {
    if (n == name) return kind;
  }
  return std::nullopt;
}

const Column* Table::find_column(std::string_view column) const {
  auto found = std::find_if(columns.begin(), columns.end(), [&](const Column& c) { return c.name == column; });
  return found == columns.end() ? nullptr : &*found;
}

const Table* Schema::find_table(std::string_view table) const {
  auto found = std::find_if(tables.begin(), tables.end(), [&](const Table& t) { return t.name == table; });
  return found == tables.end() ? nullptr : &*found;
}

}  // namespace lunadb::schema
