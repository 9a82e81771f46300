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
  std::unique_ptr<vector::VectorStore> vectors;
  std::unique_ptr<Embedder> embedder;
  std::unique_ptr<memory::Memory> memory;  // declared last: destroyed first, before what it uses
};

// Throws what opening each part throws; Error(migration) naming `lunadb upgrade head` when the
// database lacks the memory's tables.
std::unique_ptr<OpenedMemory> open_memory(const Settings& settings, memory::MemoryOptions options);

}  // namespace lunadb::cli
