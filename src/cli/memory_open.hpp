#pragma once
// The memory engine as the commands open it from the settings: the Store (DB_URL), the vector
// store VECTOR_BACKEND names, the embedder EMBEDDING_PROVIDER names, and a Memory over the three.
// Shared by `lunadb memory`, `lunadb mcp` and `lunadb serve`, so all three open the same memory.

#include <memory>

#include "lunadb/config.hpp"
#include "lunadb/embed.hpp"
#include "lunadb/memory.hpp"
#include "lunadb/store.hpp"
#include "lunadb/vector.hpp"

namespace lunadb::cli {

struct OpenedMemory {
  store::Store store;
  std::unique_ptr<vector::VectorStore> owned_vectors;  // null when the caller lent its own
  vector::VectorStore* vectors = nullptr;
  std::unique_ptr<Embedder> embedder;
  std::unique_ptr<memory::Memory> memory;  // declared last: destroyed first, before what it uses
};

// Throws what opening each part throws; Error(migration) naming `lunadb upgrade head` when the
// database lacks the memory's tables. `vectors`, when given, is used instead of opening the
// configured store (`lunadb serve` lends the store it holds open); it must outlive the result.
std::unique_ptr<OpenedMemory> open_memory(const Settings& settings, memory::MemoryOptions options,
                                          vector::VectorStore* vectors = nullptr);

}  // namespace lunadb::cli
