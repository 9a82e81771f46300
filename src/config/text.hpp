#pragma once
// Small string helpers shared by the settings loader and the URL parser (internal to config).

#include <string>
#include <string_view>

namespace lunadb::config_detail {

std::string_view trim(std::string_view text);
std::string to_upper(std::string_view text);
std::string to_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b);

// Python's urllib.parse.unquote (plus_as_space=false) / unquote_plus (true): malformed escapes
// such as "%zz" are kept literally, as Python does.
std::string percent_decode(std::string_view text, bool plus_as_space);

// Escapes every byte outside the unreserved set and `keep`; with space_as_plus a space becomes '+'.
std::string percent_encode(std::string_view text, std::string_view keep, bool space_as_plus);

// A value quoted for an error message: control bytes escaped, long values shortened.
std::string quote_for_message(std::string_view value);

}  // namespace lunadb::config_detail
