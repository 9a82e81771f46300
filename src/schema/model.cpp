#include "schema/model.hpp"

#include <algorithm>

namespace lunadb::schema {

const Column* Table::find_column(std::string_view column) const {
  auto found = std::find_if(columns.begin(), columns.end(), [&](const Column& c) { return c.name == column; });
  return found == columns.end() ? nullptr : &*found;
}

const Table* Schema::find_table(std::string_view table) const {
  auto found = std::find_if(tables.begin(), tables.end(), [&](const Table& t) { return t.name == table; });
  return found == tables.end() ? nullptr : &*found;
}

}  // namespace lunadb::schema
