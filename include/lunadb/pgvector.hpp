#pragma once
// The vector store in PostgreSQL with the pgvector extension: the same VectorStore / Collection
// API and ChromaDB semantics as the embedded store, for deployments whose app servers share one
// database (docs/vector-store.md, "The pgvector backend").
//
// Thread-safety: as the embedded store. Every call leases its own pooled connection (DB_POOL_*),
// so any number of threads and processes may use one database. Writes to one collection are
// serialised by a transaction-level advisory lock (it works through pgbouncer's transaction mode).

#include <memory>

#include "lunadb/config.hpp"
#include "lunadb/vector.hpp"

namespace lunadb::vector {

// The store in the database `settings.vector_db` (VECTOR_URL). Runs `CREATE EXTENSION IF NOT
// EXISTS vector` when the extension is missing: Error(unsupported) when the server has no pgvector,
// Error(config) when the user may not create it; both name VECTOR_URL's host, never its password.
std::unique_ptr<VectorStore> open_pgvector_store(const Settings& settings);

// What VECTOR_BACKEND selects: the embedded store under CHROMA_PATH, or open_pgvector_store().
std::unique_ptr<VectorStore> open_configured_store(const Settings& settings, const OpenOptions& options = {});

}  // namespace lunadb::vector
