#pragma once
// Turns revision operations into a dialect's statements while tracking the schema they produce.
// The same code serves three purposes: online runs (state introspected from the live database),
// offline --sql scripts and `check` (state replayed from the revisions in memory).

#include <string>
#include <vector>

#include "migrate/revision_file.hpp"
#include "schema/model.hpp"
#include "sql/dialect.hpp"

namespace lunadb::migrate {

// Applies `op` to `state` and returns the statements that make the same change in a database
// whose schema is `state`. Throws Error(migration) naming the revision file and line when the
// operation does not fit the state (unknown table or column, duplicate name, ...).
std::vector<std::string> render_operation(const LocatedOperation& op, const Revision& revision, schema::Schema& state,
                                          const sql::Dialect& dialect);

// ---- the version table, exactly as Alembic lays it out ----
inline constexpr const char* kVersionTable = "alembic_version";
std::string create_version_table_sql();
std::string drop_version_table_sql();

struct VersionStatement {
  std::string sql;
  bool must_match_one = false;  // UPDATE / DELETE: Alembic's "expected to match one row" check
  std::string from;             // for the error message
  std::string to;
};

}  // namespace lunadb::migrate
