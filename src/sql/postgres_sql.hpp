#pragma once
// Helpers of the PostgreSQL driver that are worth testing on their own.

#include <string>
#include <string_view>

namespace lunadb::sql::postgres {

struct RewrittenSql {
  std::string text;
  int parameter_count = 0;
};

// Rewrites '?' placeholders to $1, $2, ... skipping '...' strings (also E'...' with backslash
// escapes), "..." identifiers, $tag$...$tag$ bodies, -- and /* */ comments.
RewrittenSql rewrite_placeholders(std::string_view sql);

// PostgreSQL's binary NUMERIC as decimal text ("-12.340", "NaN").
std::string numeric_to_string(const char* data, int length);

}  // namespace lunadb::sql::postgres
