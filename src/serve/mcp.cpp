#include "serve/mcp.hpp"

#include <algorithm>
#include <istream>
#include <ostream>

#include "lunadb/error.hpp"

namespace lunadb::serve {

namespace {

using Json = nlohmann::json;

// JSON-RPC 2.0's reserved codes.
constexpr int parse_error = -32700;
constexpr int invalid_request = -32600;
constexpr int method_not_found = -32601;
constexpr int invalid_params = -32602;
constexpr int internal_error = -32603;

struct RpcError {
  int code;
  std::string message;
};

Json error_reply(const Json& id, int code, const std::string& message) {
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

// Invalid UTF-8 cannot reach the client from a tool result: dump() would throw on it.
std::string to_line(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

const char* schema_type_of(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: return "number";
    case Json::value_t::string: return "string";
    case Json::value_t::array: return "array";
    case Json::value_t::object: return "object";
    default: return "value";
  }
}

bool has_type(const Json& value, const std::string& type) {
  if (type == "number") return value.is_number();
  if (type == "integer") {
    if (value.is_number_integer()) return true;
    // 3.0 is an integer to JSON Schema; clients that only have doubles send it so.
    if (value.is_number_float()) {
      double d = value.get<double>();
      return d == static_cast<double>(static_cast<long long>(d));
    }
    return false;
  }
  return type == schema_type_of(value);
}

std::string check_value(const Json& schema, const Json& value, const std::string& where) {
  if (schema.contains("type")) {
    const Json& type = schema["type"];
    bool ok = false;
    std::string wanted;
    for (const Json& t : type.is_array() ? type : Json::array({type})) {
      ok = ok || has_type(value, t.get<std::string>());
      wanted += (wanted.empty() ? "" : " or ") + t.get<std::string>();
    }
    if (!ok) return where + ": expected " + wanted + ", got " + schema_type_of(value);
  }
  if (schema.contains("enum")) {
    const Json& choices = schema["enum"];
    if (std::find(choices.begin(), choices.end(), value) == choices.end())
      return where + ": expected one of " + choices.dump();
  }
  if (value.is_number()) {
    double number = value.get<double>();
    if (schema.contains("minimum") && number < schema["minimum"].get<double>())
      return where + ": must be >= " + schema["minimum"].dump();
    if (schema.contains("maximum") && number > schema["maximum"].get<double>())
      return where + ": must be <= " + schema["maximum"].dump();
  }
  if (value.is_string() && schema.contains("minLength") &&
      value.get_ref<const std::string&>().size() < schema["minLength"].get<std::size_t>())
    return where + ": must have at least " + schema["minLength"].dump() + " character(s)";
  if (value.is_array() && schema.contains("items")) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      std::string fault = check_value(schema["items"], value[i], where + "[" + std::to_string(i) + "]");
      if (!fault.empty()) return fault;
    }
  }
  if (value.is_object()) {
    const Json properties = schema.value("properties", Json::object());
    for (const Json& required : schema.value("required", Json::array())) {
      if (!value.contains(required.get<std::string>()))
        return "argument '" + required.get<std::string>() + "' is required";
    }
    for (const auto& [key, member] : value.items()) {
      std::string inner = where.empty() ? "argument '" + key + "'" : where + "." + key;
      if (properties.contains(key)) {
        std::string fault = check_value(properties[key], member, inner);
        if (!fault.empty()) return fault;
      } else if (schema.value("additionalProperties", true) == false) {
        return inner + " is not known; known: " + [&] {
          std::string names;
          for (const auto& [name, unused] : properties.items()) names += (names.empty() ? "" : ", ") + name;
          return names;
        }();
      }
    }
  }
  return "";
}

}  // namespace

const std::vector<std::string>& mcp_protocol_versions() {
  static const std::vector<std::string> versions{"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"};
  return versions;
}

std::string check_arguments(const Json& schema, const Json& arguments) {
  std::string fault = check_value(schema, arguments, "");
  // A fault at the top level has no name: say what the whole is.
  if (fault.rfind(": expected", 0) == 0) fault = "arguments" + fault;
  return fault;
}

McpServer::McpServer(std::string name, std::string version, std::vector<McpTool> tools)
    : name_(std::move(name)), version_(std::move(version)), tools_(std::move(tools)) {}

Json McpServer::call_tool(const Json& params) {
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string())
    throw RpcError{invalid_params, "tools/call needs params.name, a string"};
  const std::string& tool_name = params["name"].get_ref<const std::string&>();
  auto tool = std::find_if(tools_.begin(), tools_.end(), [&](const McpTool& t) { return t.name == tool_name; });
  if (tool == tools_.end()) {
    std::string names;
    for (const McpTool& t : tools_) names += (names.empty() ? "" : ", ") + t.name;
    throw RpcError{invalid_params, "unknown tool '" + tool_name + "'; the tools are " + names};
  }
  Json arguments = params.value("arguments", Json::object());
  auto failed = [](const std::string& text) {
    return Json{{"content", Json::array({{{"type", "text"}, {"text", text}}})}, {"isError", true}};
  };
  if (std::string fault = check_arguments(tool->input_schema, arguments); !fault.empty()) return failed(fault);
  try {
    Json result = tool->call(arguments);
    Json reply{{"content", Json::array({{{"type", "text"}, {"text", to_line(result)}}})}, {"isError", false}};
    if (result.is_object()) reply["structuredContent"] = std::move(result);
    return reply;
  } catch (const Error& error) {
    return failed(std::string(to_string(error.kind())) + ": " + error.what());
  } catch (const std::exception&) {
    return failed("internal: the tool failed unexpectedly");
  }
}

Json McpServer::dispatch(const Json& message) {
  if (!message.is_object()) return error_reply(nullptr, invalid_request, "a message must be a JSON object");
  const bool is_request = message.contains("id");
  const Json id = is_request ? message["id"] : Json();
  // Answers to requests of ours: this server sends none, so there is nothing to match.
  if (!message.contains("method") && (message.contains("result") || message.contains("error"))) return nullptr;
  if (message.value("jsonrpc", "") != "2.0" || !message.contains("method") || !message["method"].is_string() ||
      (is_request && !(id.is_string() || id.is_number_integer() || id.is_number_unsigned()))) {
    return is_request || !message.contains("method")
               ? error_reply(id.is_string() || id.is_number() ? id : Json(), invalid_request,
                             "not a JSON-RPC 2.0 request: needs \"jsonrpc\": \"2.0\", a string method and a "
                             "string or integer id")
               : Json();
  }
  const std::string& method = message["method"].get_ref<const std::string&>();
  const Json params = message.value("params", Json::object());
  Json result;
  try {
    if (method == "initialize") {
      std::string requested = params.is_object() ? params.value("protocolVersion", "") : "";
      const auto& versions = mcp_protocol_versions();
      bool known = std::find(versions.begin(), versions.end(), requested) != versions.end();
      result = {{"protocolVersion", known ? requested : versions.back()},
                {"capabilities", {{"tools", {{"listChanged", false}}}}},
                {"serverInfo", {{"name", name_}, {"version", version_}}}};
    } else if (method == "ping") {
      result = Json::object();
    } else if (method == "tools/list") {
      Json listed = Json::array();
      for (const McpTool& tool : tools_)
        listed.push_back({{"name", tool.name}, {"description", tool.description}, {"inputSchema", tool.input_schema}});
      result = {{"tools", std::move(listed)}};
    } else if (method == "tools/call") {
      result = call_tool(params);
    } else if (method.rfind("notifications/", 0) == 0) {
      return nullptr;  // initialized, cancelled, ...: nothing to answer, nothing to undo
    } else {
      throw RpcError{method_not_found, "method '" + method + "' is not served; this server has tools only"};
    }
  } catch (const RpcError& error) {
    return is_request ? error_reply(id, error.code, error.message) : Json();
  } catch (const std::exception&) {
    return is_request ? error_reply(id, internal_error, "internal error") : Json();
  }
  if (!is_request) return nullptr;
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

std::string McpServer::handle(std::string_view line) {
  Json message;
  try {
    message = Json::parse(line);
  } catch (const Json::exception& error) {
    return to_line(error_reply(nullptr, parse_error, std::string("not JSON: ") + error.what()));
  }
  if (message.is_array()) {
    if (message.empty()) return to_line(error_reply(nullptr, invalid_request, "an empty batch"));
    Json answers = Json::array();
    for (const Json& item : message) {
      Json answer = dispatch(item);
      if (!answer.is_null()) answers.push_back(std::move(answer));
    }
    return answers.empty() ? "" : to_line(answers);
  }
  Json answer = dispatch(message);
  return answer.is_null() ? "" : to_line(answer);
}

void McpServer::run(std::istream& in, std::ostream& out) {
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::string answer = handle(line);
    if (!answer.empty()) out << answer << '\n' << std::flush;
  }
}

}  // namespace lunadb::serve
