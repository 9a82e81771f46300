#pragma once
// Path handling shared by the API and the HTTP layer.

#include <string>
#include <string_view>
#include <vector>

namespace lunadb::serve::detail {

// "/api/v2/tenants/t" -> {"api", "v2", "tenants", "t"}; empty segments (from "//" or a trailing
// "/") are dropped, as Chroma's router ignores them.
std::vector<std::string> split_path(std::string_view path);

// The path with collection, tenant and database names replaced by "{}": a bounded set of keys
// for the request statistics.
std::string route_key(const std::string& method, std::string_view path);

}  // namespace lunadb::serve::detail
