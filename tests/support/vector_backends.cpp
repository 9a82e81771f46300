#include "support/vector_backends.hpp"

#include "lunadb/pgvector.hpp"

namespace lunadb::test {

std::string backend_name(VectorBackendKind kind) { return kind == VectorBackendKind::embedded ? "embedded" : "pgvector"; }

VectorBackendFixture::VectorBackendFixture(VectorBackendKind kind) : kind_(kind) {
  if (kind_ == VectorBackendKind::pgvector) {
    if (!server_unreachable(pgvector_url())) database_ = std::make_unique<FreshDatabase>(pgvector_url());
  }
}

std::unique_ptr<vector::VectorStore> VectorBackendFixture::open(const vector::OpenOptions& options) {
  if (kind_ == VectorBackendKind::embedded) return vector::VectorStore::open(dir_.path(), options);
  Settings settings = load_settings({{"LUNA_ENV_FILE", ""}, {"VECTOR_BACKEND", "pgvector"}, {"VECTOR_URL", database_->url_string()},
                                     {"DB_POOL_SIZE", "4"}});
  return vector::open_pgvector_store(settings);
}

}  // namespace lunadb::test
