// The vector schema chain: an ordered list of revisions compiled in, since they belong to the
// pgvector backend's code (the collection tables they describe are created by it) and run on
// VECTOR_URL, which may be another database than DB_URL's relational chain.

#include "pgvector/schema.hpp"

#include <algorithm>

#include "lunadb/error.hpp"

namespace lunadb::pgvector {

namespace {

struct Revision {
  std::string id;
  std::string message;
  std::vector<std::string> statements;
};

// Append only; never edit a released revision. IF NOT EXISTS in pgv001: stores opened by lunadb
// before the chain existed already hold the catalog, and are taken over as they are.
const std::vector<Revision>& revisions() {
  static const std::vector<Revision> all = {
      {"pgv001",
       "the collection catalog",
       {"CREATE TABLE IF NOT EXISTS lunadb_vector_collections (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "name text NOT NULL UNIQUE, dimension integer NOT NULL, distance text NOT NULL, hnsw_m integer NOT NULL, "
        "ef_construction integer NOT NULL, ef_search integer NOT NULL, embedding_model text NOT NULL DEFAULT '')"}},
      {"pgv002",
       "each collection's element type (vector or halfvec)",
       {"ALTER TABLE lunadb_vector_collections ADD COLUMN IF NOT EXISTS element_type text NOT NULL DEFAULT 'vector' "
        "CHECK (element_type IN ('vector', 'halfvec'))"}},
  };
  return all;
}

// Any value both the store and `lunadb upgrade` take: one upgrader at a time per database.
constexpr std::int64_t kSchemaLock = 1280658753;

std::string current_revision(sql::Connection& c) {
  {
    auto st = c.prepare("SELECT CASE WHEN to_regclass('lunadb_vector_version') IS NULL THEN 0 ELSE 1 END::bigint");
    if (!st->step() || st->get_int64(0) == 0) return "";
  }
  auto st = c.prepare("SELECT version_num FROM lunadb_vector_version");
  return st->step() ? st->get_text(0) : "";
}

std::size_t position_of(const std::string& id, const DbUrl& url) {
  if (id.empty()) return 0;
  const auto& all = revisions();
  auto it = std::find_if(all.begin(), all.end(), [&](const Revision& r) { return r.id == id; });
  if (it == all.end()) {
    throw Error(ErrorKind::migration, "the vector schema in " + where_of(url) + " is at revision " + id +
                                          ", which this lunadb does not know (it knows up to " + schema_head() +
                                          "); use the lunadb that upgraded it");
  }
  return static_cast<std::size_t>(it - all.begin()) + 1;
}

// Outside any transaction: a failed CREATE EXTENSION would abort it.
void ensure_extension(sql::Connection& c, const DbUrl& url) {
  {
    auto st = c.prepare("SELECT 1 FROM pg_extension WHERE extname = 'vector'");
    if (st->step()) return;
  }
  try {
    c.execute("CREATE EXTENSION IF NOT EXISTS vector");
  } catch (const DatabaseError& e) {
    const std::string& code = e.native_code();
    if (code == "42501") {
      throw Error(ErrorKind::config, "VECTOR_BACKEND=pgvector: user '" + url.user + "' may not create the extension vector in " +
                                         where_of(url) + "; have a superuser (or the database owner) run " +
                                         "CREATE EXTENSION vector in that database once, or run `lunadb upgrade` as one (" +
                                         e.what() + ")");
    }
    if (code == "0A000" || code == "58P01") {
      throw Error(ErrorKind::unsupported, "VECTOR_BACKEND=pgvector: the PostgreSQL server at " + where_of(url) +
                                              " has no pgvector extension; install pgvector there (Supabase ships it) or set "
                                              "VECTOR_BACKEND=embedded (" + e.what() + ")");
    }
    throw;
  }
}

}  // namespace

std::string where_of(const DbUrl& url) {
  return url.host + (url.port ? ":" + std::to_string(*url.port) : std::string()) + "/" + url.database + " (VECTOR_URL)";
}

const std::string& schema_head() { return revisions().back().id; }

std::vector<std::string> upgrade_schema(sql::Connection& c, const DbUrl& url, const SchemaLog& log) {
  const auto& all = revisions();
  if (position_of(current_revision(c), url) == all.size()) return {};
  ensure_extension(c, url);
  std::vector<std::string> applied;
  for (;;) {
    sql::Transaction tx(c);
    c.execute("SELECT pg_advisory_xact_lock(" + std::to_string(kSchemaLock) + ")");
    // IF NOT EXISTS finding its table says so in a NOTICE, which libpq would print on stderr.
    c.execute("SET LOCAL client_min_messages = warning");
    c.execute("CREATE TABLE IF NOT EXISTS lunadb_vector_version (version_num varchar(32) NOT NULL PRIMARY KEY)");
    // Re-read under the lock: another process may have applied it meanwhile.
    const std::string from = current_revision(c);
    const std::size_t next = position_of(from, url);
    if (next == all.size()) break;
    const Revision& r = all[next];
    if (log) log("INFO  Running vector upgrade " + (from.empty() ? std::string("base") : from) + " -> " + r.id + ", " + r.message);
    try {
      for (const auto& statement : r.statements) c.execute(statement);
    } catch (const DatabaseError& e) {
      if (e.native_code() == "42501") {
        throw Error(ErrorKind::config, "vector schema revision " + r.id + " in " + where_of(url) + ": user '" + url.user +
                                           "' lacks the privilege (" + e.what() + "); run `lunadb upgrade` as the schema owner");
      }
      throw;
    }
    c.execute(from.empty() ? "INSERT INTO lunadb_vector_version (version_num) VALUES ('" + r.id + "')"
                           : "UPDATE lunadb_vector_version SET version_num = '" + r.id + "'");
    tx.commit();
    applied.push_back(r.id);
  }
  return applied;
}

}  // namespace lunadb::pgvector
