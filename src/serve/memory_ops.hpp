#pragma once
// The memory engine's operations as JSON in, JSON out: one table that both `lunadb mcp` (as MCP
// tools) and `lunadb serve` (as POST /api/v2/lunadb/memory/{name}) use, so the two cannot drift
// apart. Arguments are checked against each operation's schema (serve/mcp.hpp check_arguments)
// before it runs. Shapes: docs/mcp.md and docs/serve.md.
//
// Thread-safety: the table is immutable; running an operation is as thread-safe as Memory.

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lunadb/memory.hpp"
#include "serve/mcp.hpp"

namespace lunadb::serve {

struct MemoryOperation {
  std::string name;  // remember, recall, forget, pending
  std::string description;
  nlohmann::json input_schema;
  std::function<nlohmann::json(memory::Memory&, const nlohmann::json& arguments)> run;
};

const std::vector<MemoryOperation>& memory_operations();

// Checks the arguments, then runs `name`. Error(invalid_argument) naming the argument at fault,
// Error(not_found) for an unknown operation.
nlohmann::json run_memory_operation(memory::Memory& memory, const std::string& name, const nlohmann::json& arguments);

// The operations as MCP tools over `memory`, which must outlive them.
std::vector<McpTool> memory_tools(memory::Memory& memory);

}  // namespace lunadb::serve
