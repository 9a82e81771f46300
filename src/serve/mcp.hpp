#pragma once
// The Model Context Protocol over stdio (docs/mcp.md): JSON-RPC 2.0, one message per line, the
// handshake-era lifecycle (initialize, notifications/initialized, ping) and the tools capability
// (tools/list, tools/call). What a tool does is given by the caller as McpTool values, so this
// file knows the protocol and nothing of the memory.
//
// Tool arguments are checked against the tool's input schema before the tool runs (the subset of
// JSON Schema the tools use: type, properties, required, additionalProperties: false, items, enum,
// minimum, maximum, minLength). A failed check, and any lunadb::Error the tool throws, is
// answered as a tool result with isError: true and a message naming the argument, so the model
// on the other side can read it and correct itself; protocol faults (a line that is not JSON, an
// unknown method or tool) are JSON-RPC errors. Nothing a client sends ends the server except the
// end of its input.
//
// Thread-safety: one McpServer serves one connection from one thread. handle() is not reentrant.

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lunadb::serve {

struct McpTool {
  std::string name;
  std::string description;
  nlohmann::json input_schema;  // a JSON Schema object, sent as inputSchema
  // Returns the tool's structured result. Throws lunadb::Error for a failure the caller should
  // see; any other exception is reported as an internal error without its text.
  std::function<nlohmann::json(const nlohmann::json& arguments)> call;
};

// The protocol revisions of the initialize handshake this server speaks, oldest first.
const std::vector<std::string>& mcp_protocol_versions();

// Returns "" when `arguments` satisfies `schema`, otherwise a message naming the first argument
// at fault ("argument 'k': expected an integer >= 1").
std::string check_arguments(const nlohmann::json& schema, const nlohmann::json& arguments);

class McpServer {
 public:
  McpServer(std::string name, std::string version, std::vector<McpTool> tools);

  // One line from the client in; the line to answer, without its newline ("" for a
  // notification, which has no answer).
  std::string handle(std::string_view line);

  // Serves `in` until it ends: each line through handle(), each answer flushed at once.
  void run(std::istream& in, std::ostream& out);

 private:
  nlohmann::json dispatch(const nlohmann::json& message);
  nlohmann::json call_tool(const nlohmann::json& params);

  std::string name_;
  std::string version_;
  std::vector<McpTool> tools_;
};

}  // namespace lunadb::serve
