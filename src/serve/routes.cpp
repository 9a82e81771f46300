#include "serve/routes.hpp"

#include <set>

#include "lunadb/serve.hpp"

namespace lunadb::serve::detail {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  while (begin <= path.size()) {
    std::size_t slash = path.find('/', begin);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > begin) parts.emplace_back(path.substr(begin, slash - begin));
    begin = slash + 1;
  }
  return parts;
}

std::string route_key(const std::string& method, std::string_view path) {
  // Only words of the API are kept, so that clients sending random paths cannot grow the
  // statistics without bound.
  static const std::set<std::string_view> words = {
      "v1", "v2", "heartbeat", "version", "healthcheck", "pre-flight-checks", "auth", "identity", "reset",
      "tenants", "databases", "collections", "collections_count", "by-id", "count", "get", "query", "add",
      "upsert", "update", "delete", "fork", "fork_count", "search", "indexing_status", "functions",
      "attached_functions", "lunadb", "stats", "flush", "memory", "remember", "recall", "forget", "pending"};
  const std::vector<std::string> parts = split_path(path);
  std::string key = method + " ";
  if (parts.size() < 2 || parts[0] != "api") return key + "(unknown)";
  const bool lunadb = parts.size() > 2 && parts[2] == "lunadb";
  key += "/api";
  for (std::size_t i = 1; i < parts.size() && i < 10; ++i) {
    // Chroma's paths hold names at 3 (tenant), 5 (database), 7 (collection) and 8 after by-id;
    // lunadb's own at 4 (the store's collection).
    const bool by_id = parts.size() > 7 && parts[7] == "by-id";
    const bool tenants = parts.size() > 2 && parts[2] == "tenants";
    const bool name = lunadb ? i == 4 : tenants && (i == 3 || i == 5 || (i == 7 && !by_id) || (i == 8 && by_id));
    key += "/" + (name ? std::string("{}") : words.count(parts[i]) ? parts[i] : std::string("?"));
  }
  return key;
}

}  // namespace lunadb::serve

namespace lunadb::serve {

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  // 127.0.0.0/8 in dotted form: "127." followed by three numbers.
  if (host.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') ++dots;
    else if (c < '0' || c > '9') return false;
  }
  return dots == 3;
}

}  // namespace lunadb::serve
