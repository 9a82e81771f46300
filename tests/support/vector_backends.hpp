#pragma once
// The two VectorStore implementations behind one factory, so that the suites defining ChromaDB's
// semantics run unchanged against both: the embedded store in a temporary folder, and the
// pgvector store in a fresh database on LUNADB_TEST_PGVECTOR_URL.

#include <memory>
#include <optional>
#include <string>

#include "lunadb/vector.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::test {

enum class VectorBackendKind { embedded, pgvector };
std::string backend_name(VectorBackendKind kind);  // for test names

class VectorBackendFixture {
 public:
  explicit VectorBackendFixture(VectorBackendKind kind);
  // Opens a new store over the same data (a reopen: the old one must be released first).
  std::unique_ptr<vector::VectorStore> open(const vector::OpenOptions& options = {});
  bool needs_server() const { return kind_ == VectorBackendKind::pgvector; }

 private:
  VectorBackendKind kind_;
  TempDir dir_{"lunadb-vector-backend"};
  std::unique_ptr<FreshDatabase> database_;
};

}  // namespace lunadb::test

// At the start of a test body using a fixture: fails in CI, skips elsewhere, when the server is absent.
#define LUNADB_REQUIRE_BACKEND(fixture)                                       \
  do {                                                                        \
    if ((fixture).needs_server()) LUNADB_REQUIRE_SERVER(::lunadb::test::pgvector_url()); \
  } while (0)
