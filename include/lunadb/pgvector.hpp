#pragma once
// The vector store in PostgreSQL with the pgvector extension: the same VectorStore / Collection
// API and ChromaDB semantics as the embedded store, for deployments whose app servers share one
// database (docs/vector-store.md, "The pgvector backend").
//
// Thread-safety: as the embedded store. Every call leases its own pooled connection (DB_POOL_*),
// so any number of threads and processes may use one database. Writes to one collection are
// serialised by a transaction-level advisory lock (it works through pgbouncer's transaction mode).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lunadb/config.hpp"
#include "lunadb/vector.hpp"

namespace lunadb::vector {

// The store in the database `settings.vector_db` (VECTOR_URL). Brings the vector schema to its
// head first, as upgrade_pgvector_schema() does (nothing to do, and no DDL, when it is there).
std::unique_ptr<VectorStore> open_pgvector_store(const Settings& settings);

// Applies the vector schema chain (docs/migrations.md, "The vector schema") to VECTOR_URL: `CREATE
// EXTENSION IF NOT EXISTS vector`, then each missing revision in its own transaction, recorded in
// lunadb_vector_version. Error(unsupported) when the server has no pgvector, Error(config) when the
// user may not create it or lacks a privilege a revision needs; both name VECTOR_URL's host, never
// its password. `log` receives "INFO  Running vector upgrade A -> B, message". Returns the ids
// applied. Error(config) unless VECTOR_BACKEND=pgvector.
std::vector<std::string> upgrade_pgvector_schema(const Settings& settings,
                                                 const std::function<void(const std::string&)>& log = {});

// What VECTOR_BACKEND selects: the embedded store under CHROMA_PATH, or open_pgvector_store().
std::unique_ptr<VectorStore> open_configured_store(const Settings& settings, const OpenOptions& options = {});

}  // namespace lunadb::vector
