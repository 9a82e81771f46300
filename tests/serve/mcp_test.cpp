// The MCP stdio protocol layer (serve/mcp.hpp) on its own: the handshake, tools/list, tools/call
// with arguments checked against the schema, and every kind of malformed line a client can send,
// none of which may end or crash the server. The real MCP client (PyPI `mcp`) talks to
// `lunadb mcp` in tests/compat/test_mcp.py.

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "lunadb/error.hpp"
#include "serve/mcp.hpp"

namespace lunadb::serve {
namespace {

using nlohmann::json;

McpServer make_server() {
  McpTool echo{"echo", "Returns its text, k times.",
               json::parse(R"({"type": "object", "additionalProperties": false, "required": ["text"],
                               "properties": {"text": {"type": "string", "minLength": 1},
                                              "k": {"type": "integer", "minimum": 1, "maximum": 5},
                                              "mode": {"enum": ["plain", "loud"]},
                                              "tags": {"type": "array", "items": {"type": "string"}}}})"),
               [](const json& arguments) {
                 std::string text = arguments["text"];
                 if (text == "fail") throw Error(ErrorKind::not_found, "fact 42 does not exist");
                 if (text == "crash") throw std::runtime_error("secret internals");
                 std::string out;
                 for (int i = 0; i < arguments.value("k", 1); ++i) out += text;
                 return json{{"echo", out}};
               }};
  return McpServer("lunadb-test", "0.0.0", {echo});
}

json answer(McpServer& server, const std::string& line) {
  std::string reply = server.handle(line);
  return reply.empty() ? json() : json::parse(reply);
}

json call(McpServer& server, const json& arguments) {
  json request{{"jsonrpc", "2.0"}, {"id", 7}, {"method", "tools/call"}, {"params", {{"name", "echo"}, {"arguments", arguments}}}};
  return answer(server, request.dump());
}

TEST(Mcp, InitializeAgreesOnAKnownVersionAndOffersTools) {
  McpServer server = make_server();
  json reply = answer(server, R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
  EXPECT_EQ(reply["id"], 1);
  EXPECT_EQ(reply["result"]["protocolVersion"], "2025-06-18");
  EXPECT_TRUE(reply["result"]["capabilities"].contains("tools"));
  EXPECT_EQ(reply["result"]["serverInfo"]["name"], "lunadb-test");
  // A version this server does not know gets its newest; the client decides whether to go on.
  reply = answer(server, R"({"jsonrpc":"2.0","id":"a","method":"initialize","params":{"protocolVersion":"2099-01-01"}})");
  EXPECT_EQ(reply["id"], "a");
  EXPECT_EQ(reply["result"]["protocolVersion"], mcp_protocol_versions().back());
  EXPECT_EQ(server.handle(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"), "");
  EXPECT_EQ(answer(server, R"({"jsonrpc":"2.0","id":2,"method":"ping"})")["result"], json::object());
}

TEST(Mcp, ToolsListCarriesTheSchema) {
  McpServer server = make_server();
  json reply = answer(server, R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})");
  ASSERT_EQ(reply["result"]["tools"].size(), 1u);
  EXPECT_EQ(reply["result"]["tools"][0]["name"], "echo");
  EXPECT_EQ(reply["result"]["tools"][0]["inputSchema"]["required"][0], "text");
}

TEST(Mcp, ToolResultsAreTextAndStructured) {
  McpServer server = make_server();
  json reply = call(server, {{"text", "ab"}, {"k", 3}});
  EXPECT_EQ(reply["result"]["isError"], false);
  EXPECT_EQ(reply["result"]["structuredContent"]["echo"], "ababab");
  EXPECT_EQ(json::parse(reply["result"]["content"][0]["text"].get<std::string>())["echo"], "ababab");
  // 2.0 is an integer to JSON Schema.
  EXPECT_EQ(call(server, {{"text", "x"}, {"k", 2.0}})["result"]["structuredContent"]["echo"], "xx");
}

TEST(Mcp, BadArgumentsAreToolErrorsNamingTheArgument) {
  McpServer server = make_server();
  auto fault = [&](const json& arguments) {
    json reply = call(server, arguments);
    EXPECT_EQ(reply["result"]["isError"], true) << reply;
    return reply["result"]["content"][0]["text"].get<std::string>();
  };
  EXPECT_EQ(fault(json::object()), "argument 'text' is required");
  EXPECT_NE(fault({{"text", 5}}).find("argument 'text': expected string, got integer"), std::string::npos);
  EXPECT_NE(fault({{"text", ""}}).find("at least 1"), std::string::npos);
  EXPECT_NE(fault({{"text", "a"}, {"k", 0}}).find("argument 'k': must be >= 1"), std::string::npos);
  EXPECT_NE(fault({{"text", "a"}, {"k", 1.5}}).find("expected integer"), std::string::npos);
  EXPECT_NE(fault({{"text", "a"}, {"mode", "quiet"}}).find("one of"), std::string::npos);
  EXPECT_NE(fault({{"text", "a"}, {"tags", {"x", 1}}}).find("argument 'tags'[1]"), std::string::npos);
  EXPECT_NE(fault({{"text", "a"}, {"colour", "red"}}).find("argument 'colour' is not known"), std::string::npos);
  EXPECT_NE(fault(json::array()).find("arguments: expected object"), std::string::npos);
  // The tool's own typed error reaches the client; anything else does not leak its text.
  EXPECT_EQ(fault({{"text", "fail"}}), "not found: fact 42 does not exist");
  std::string crash = fault({{"text", "crash"}});
  EXPECT_EQ(crash.find("secret"), std::string::npos);
}

TEST(Mcp, ProtocolFaultsAreJsonRpcErrorsAndTheServerGoesOn) {
  McpServer server = make_server();
  EXPECT_EQ(answer(server, "{not json")["error"]["code"], -32700);
  EXPECT_EQ(answer(server, "\"\xff\xfe\"")["error"]["code"], -32700);  // invalid UTF-8
  EXPECT_EQ(answer(server, "42")["error"]["code"], -32600);
  EXPECT_EQ(answer(server, "[]")["error"]["code"], -32600);
  EXPECT_EQ(answer(server, R"({"jsonrpc":"1.0","id":1,"method":"ping"})")["error"]["code"], -32600);
  EXPECT_EQ(answer(server, R"({"jsonrpc":"2.0","id":{"x":1},"method":"ping"})")["error"]["code"], -32600);
  EXPECT_EQ(answer(server, R"({"jsonrpc":"2.0","id":1,"method":"resources/list"})")["error"]["code"], -32601);
  EXPECT_EQ(answer(server, R"({"jsonrpc":"2.0","id":1,"method":"server/discover"})")["error"]["code"], -32601);
  EXPECT_EQ(answer(server, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope"}})")["error"]["code"], -32602);
  EXPECT_EQ(answer(server, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":[]})")["error"]["code"], -32602);
  // Notifications are never answered, not even when wrong.
  EXPECT_EQ(server.handle(R"({"jsonrpc":"2.0","method":"no/such"})"), "");
  EXPECT_EQ(server.handle(R"({"jsonrpc":"2.0","id":9,"result":{}})"), "");
  // A batch answers its requests only.
  json batch = answer(server, R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"},5])");
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0]["id"], 1);
  EXPECT_EQ(batch[1]["error"]["code"], -32600);
  EXPECT_EQ(answer(server, R"({"jsonrpc":"2.0","id":2,"method":"ping"})")["result"], json::object());
}

TEST(Mcp, RunAnswersLineByLineUntilTheInputEnds) {
  McpServer server = make_server();
  std::istringstream in("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n\n   \n"
                        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
                        "garbage\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
  std::ostringstream out;
  server.run(in, out);
  std::istringstream lines(out.str());
  std::string line;
  std::vector<json> replies;
  while (std::getline(lines, line)) replies.push_back(json::parse(line));
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0]["id"], 1);
  EXPECT_EQ(replies[1]["error"]["code"], -32700);
  EXPECT_EQ(replies[2]["id"], 2);
}

}  // namespace
}  // namespace lunadb::serve
