#pragma once
// Creates the head schema directly from luna_schema() through the connection's dialect, plus the
// personality_state row. For tests and benchmarks that need the tables without running the
// migration engine; production databases are created by `lunadb upgrade`.

#include "sql/driver.hpp"

namespace lunadb::store {

// Runs in one transaction; throws DatabaseError if a table already exists.
void create_schema_directly(sql::Connection& connection);

// Drops the schema's tables (those that exist), referencing tables first. For benchmarks that
// borrow an empty database and leave it empty again.
void drop_schema_directly(sql::Connection& connection);

}  // namespace lunadb::store
