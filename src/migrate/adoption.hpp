#pragma once
// Taking over a database that Luna's own code made with `Base.metadata.create_all()`: it has
// Luna's tables but no alembic_version. Introspection decides which revision it is at (Luna's 001,
// or 6f1c2a9e0b31 when create_all's model indexes are there), so that stamping it and upgrading
// runs only what the database lacks.

#include "lunadb/migrate.hpp"
#include "migrate/revision_set.hpp"
#include "sql/driver.hpp"

namespace lunadb::migrate {

// Luna's first revision and the one that adds the indexes its models declare.
inline constexpr const char* kLunaInitialRevision = "001";
inline constexpr const char* kLunaModelIndexesRevision = "6f1c2a9e0b31";

// Reads only; never writes. `rows` are the database's alembic_version rows.
Adoption inspect_adoption(sql::Connection& connection, const RevisionSet& revisions, const std::vector<std::string>& rows);

}  // namespace lunadb::migrate
