#pragma once
// The pgvector backend's own schema chain, applied to VECTOR_URL (docs/migrations.md, "The vector
// schema"): the extension, the collection catalog, and later changes to them, recorded in
// lunadb_vector_version. Per-collection tables are made by create_collection, not here.

#include <functional>
#include <string>
#include <vector>

#include "lunadb/config.hpp"
#include "sql/driver.hpp"

namespace lunadb::pgvector {

using SchemaLog = std::function<void(const std::string& line)>;

// Applies the revisions the database lacks, each in one transaction with its version row, under
// an advisory lock (concurrent openers apply each once). At the head it runs no DDL at all, so a
// user without CREATE privilege works once a privileged `lunadb upgrade` has run. `url` names the
// database in errors (without its password). Returns the revision ids applied.
std::vector<std::string> upgrade_schema(sql::Connection& c, const DbUrl& url, const SchemaLog& log = {});

// The newest revision id this lunadb knows.
const std::string& schema_head();

// "host:port/database (VECTOR_URL)": where errors say the store is, never with a password.
std::string where_of(const DbUrl& url);

}  // namespace lunadb::pgvector
