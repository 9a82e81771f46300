#pragma once
// Compares two schemas the way Alembic's autogenerate does and proposes the operations that turn
// `live` into `model`: tables, columns (type, nullability, default), indexes, named unique,
// check (by name only) and foreign-key constraints. Renames are never guessed: they come out as
// a drop plus an add. Types and defaults are compared as `dialect` renders them, so synonyms the
// backend cannot tell apart (bigint vs id on SQLite) are not reported.

#include <string>
#include <vector>

#include "migrate/revision_file.hpp"
#include "schema/model.hpp"
#include "sql/dialect.hpp"

namespace lunadb::migrate {

struct SchemaDiff {
  std::vector<LocatedOperation> upgrade;    // live -> model, in execution order
  std::vector<LocatedOperation> downgrade;  // model -> live, in execution order
  std::vector<std::string> differences;     // one line per upgrade operation
  bool empty() const { return upgrade.empty(); }
};

SchemaDiff compare_schemas(const schema::Schema& live, const schema::Schema& model, const sql::Dialect& dialect);

// A fresh 12-hex-digit revision id (like Alembic's).
std::string new_revision_id();
// "Add due dates!" -> "add_due_dates", at most 40 characters.
std::string slugify(std::string_view message);

}  // namespace lunadb::migrate
