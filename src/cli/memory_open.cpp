#include "cli/memory_open.hpp"

#include <algorithm>

#include "lunadb/error.hpp"
#include "lunadb/migrate.hpp"
#include "lunadb/pgvector.hpp"

namespace lunadb::cli {

std::unique_ptr<OpenedMemory> open_memory(const Settings& settings, memory::MemoryOptions options,
                                          vector::VectorStore* vectors) {
  {
    // Before the revision that adds the outbox every write would fail on a missing table; say
    // what to run instead.
    migrate::Migrator migrator(settings);
    const std::vector<std::string> current = migrator.current();
    const std::vector<std::string> heads = migrator.heads();
    if (current.empty() || !std::all_of(heads.begin(), heads.end(), [&](const std::string& head) {
          return std::find(current.begin(), current.end(), head) != current.end();
        })) {
      throw Error(ErrorKind::migration,
                  "the memory needs the database at the head revision (" + (heads.empty() ? "" : heads.front()) +
                      "), it is at " + (current.empty() ? std::string("no revision") : current.front()) +
                      ": run `lunadb upgrade head`");
    }
  }
  auto opened =
      std::unique_ptr<OpenedMemory>(new OpenedMemory{store::Store::open(settings), nullptr, vectors, nullptr, nullptr});
  if (!opened->vectors) {
    opened->owned_vectors = vector::open_configured_store(settings);
    opened->vectors = opened->owned_vectors.get();
  }
  opened->embedder = make_embedder(settings);
  opened->memory = std::make_unique<memory::Memory>(opened->store, *opened->vectors, *opened->embedder, options);
  return opened;
}

}  // namespace lunadb::cli
