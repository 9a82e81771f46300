// `lunadb mcp`: the memory engine as an MCP server over stdin/stdout (docs/mcp.md).

#include <iostream>

#include "cli/commands.hpp"
#include "cli/memory_open.hpp"
#include "serve/mcp.hpp"
#include "serve/memory_ops.hpp"

namespace lunadb::cli {

void register_mcp_command(CLI::App& app, Context& context) {
  CLI::App* command = app.add_subcommand(
      "mcp", "Serve the memory (remember, recall, forget) to an assistant over the Model Context Protocol on stdio");
  command->callback([&context] {
    // No background worker: each remember applies its vector (and whatever is still pending from
    // a time the embedding server was away) before it answers, so the next recall finds it by
    // meaning, which is what a model calling the tools expects.
    memory::MemoryOptions options = memory::options_from(context.settings());
    options.start_worker = false;
    auto opened = open_memory(context.settings(), options);
    // stdout carries protocol messages only; everything else goes to stderr.
    std::cerr << "lunadb mcp: serving the memory of " << context.settings().db.redacted() << " on stdio\n";
    serve::McpServer server("lunadb", LUNADB_VERSION, serve::memory_tools(*opened->memory));
    std::ios::sync_with_stdio(false);
    server.run(std::cin, std::cout);
  });
}

}  // namespace lunadb::cli
