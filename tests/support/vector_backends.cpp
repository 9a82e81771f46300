#include "support/vector_backends.hpp"

#include "lunadb/pgvector.hpp"

namespace lunadb::test {

std::string backend_name(VectorBackendKind kind) {
  switch (kind) {
    case VectorBackendKind::embedded: return "embedded";
    case VectorBackendKind::pgvector: return "pgvector";
    case VectorBackendKind::pgvector_pgbouncer: return "pgvector_pgbouncer";
  }
  return "unknown";
}

std::vector<VectorBackendKind> vector_backend_kinds() {
  return {VectorBackendKind::embedded, VectorBackendKind::pgvector, VectorBackendKind::pgvector_pgbouncer};
}

std::vector<std::string> required_servers(VectorBackendKind kind) {
  switch (kind) {
    case VectorBackendKind::embedded: return {};
    case VectorBackendKind::pgvector: return {pgvector_url()};
    case VectorBackendKind::pgvector_pgbouncer: return {pgvector_url(), pgvector_pgbouncer_url()};
  }
  return {};
}

VectorBackendFixture::VectorBackendFixture(VectorBackendKind kind) : kind_(kind) {
  // The database is made on the server itself: pgbouncer only relays to it.
  if (kind_ != VectorBackendKind::embedded && !server_unreachable(pgvector_url())) {
    database_ = std::make_unique<FreshDatabase>(pgvector_url());
  }
}

VectorBackendFixture::~VectorBackendFixture() {
  if (kind_ == VectorBackendKind::pgvector_pgbouncer && database_) {
    close_pgbouncer_server_connections(pgvector_pgbouncer_url(), database_->name());
  }
}

std::string VectorBackendFixture::vector_url() const {
  if (kind_ == VectorBackendKind::embedded || !database_) return "";
  if (kind_ == VectorBackendKind::pgvector) return database_->url_string();
  return url_with_database(pgvector_pgbouncer_url(), database_->name());
}

std::unique_ptr<vector::VectorStore> VectorBackendFixture::open(const vector::OpenOptions& options) {
  if (kind_ == VectorBackendKind::embedded) return vector::VectorStore::open(dir_.path(), options);
  Settings settings = load_settings({{"LUNA_ENV_FILE", ""}, {"VECTOR_BACKEND", "pgvector"}, {"VECTOR_URL", vector_url()},
                                     {"DB_POOL_SIZE", "4"}});
  return vector::open_pgvector_store(settings);
}

}  // namespace lunadb::test
