#pragma once
// The two VectorStore implementations behind one factory, so that the suites defining ChromaDB's
// semantics run unchanged against both: the embedded store in a temporary folder, and the
// pgvector store in a fresh database on LUNADB_TEST_PGVECTOR_URL, reached directly or through
// pgbouncer in transaction mode (LUNADB_TEST_PGVECTOR_PGBOUNCER_URL), where consecutive
// transactions of one connection land on different server sessions.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lunadb/vector.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::test {

enum class VectorBackendKind { embedded, pgvector, pgvector_pgbouncer };
std::string backend_name(VectorBackendKind kind);  // for test names
// Every kind, for INSTANTIATE_TEST_SUITE_P(..., ::testing::ValuesIn(vector_backend_kinds()), ...).
std::vector<VectorBackendKind> vector_backend_kinds();
// The server URLs a kind needs (none for the embedded store).
std::vector<std::string> required_servers(VectorBackendKind kind);

class VectorBackendFixture {
 public:
  explicit VectorBackendFixture(VectorBackendKind kind);
  ~VectorBackendFixture();
  VectorBackendFixture(const VectorBackendFixture&) = delete;
  VectorBackendFixture& operator=(const VectorBackendFixture&) = delete;
  // Opens a new store over the same data (a reopen: the old one must be released first).
  std::unique_ptr<vector::VectorStore> open(const vector::OpenOptions& options = {});
  // The VECTOR_URL the store opens (empty for the embedded store).
  std::string vector_url() const;
  // The database behind it, reached directly (nullptr for the embedded store).
  const FreshDatabase* database() const { return database_.get(); }
  VectorBackendKind kind() const { return kind_; }

 private:
  VectorBackendKind kind_;
  TempDir dir_{"lunadb-vector-backend"};
  std::unique_ptr<FreshDatabase> database_;
};

}  // namespace lunadb::test

// At the start of a test body using a fixture: fails in CI, skips elsewhere, when a server is absent.
#define LUNADB_REQUIRE_BACKEND(fixture)                                                        \
  do {                                                                                         \
    for (const auto& lunadb_server_ : ::lunadb::test::required_servers((fixture).kind())) \
      LUNADB_REQUIRE_SERVER(lunadb_server_);                                                   \
  } while (0)
