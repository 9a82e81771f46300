#pragma once
// The env-file reader: the same syntax and results as python-dotenv's dotenv_values(), which is
// what Luna's Python settings used, so an existing .env means the same thing here.
//
// Supported: KEY=VALUE, `export KEY=VALUE`, whitespace around '=', '#' comment lines, blank lines,
// 'single' and "double" quoted values (may span lines; double quotes decode \n \t \" \\ ...,
// single quotes decode only \' and \\), ` # comment` after an unquoted or quoted value, CRLF or CR
// line endings, a leading UTF-8 BOM, ${NAME} and ${NAME:-default} expansion. A line that cannot
// be parsed is skipped (python-dotenv logs a warning and skips it too); its line number is kept.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lunadb::config_detail {

struct EnvEntry {
  std::string key;                   // as written (case preserved)
  std::optional<std::string> value;  // nullopt for a bare `KEY` line without '='
  int line = 0;                      // 1-based line where the key starts
};

struct ParsedEnvText {
  std::vector<EnvEntry> entries;   // in file order, duplicates kept
  std::vector<int> skipped_lines;  // lines of statements that could not be parsed
};

ParsedEnvText parse_env_text(std::string_view text);

// Expands ${NAME} and ${NAME:-default} in every value, in file order: a name is looked up first
// among the entries above it, then through `outside` (the process environment); unknown -> the
// default or "". Matches dotenv_values(interpolate=True).
using VariableLookup = std::function<std::optional<std::string>(const std::string& name)>;
void expand_variables(std::vector<EnvEntry>& entries, const VariableLookup& outside);

// The file's bytes, or nullopt when it does not exist. Throws Error(config) naming the file when
// it exists but cannot be read (a directory, no permission, I/O error).
std::optional<std::string> read_env_file(const std::filesystem::path& path);

}  // namespace lunadb::config_detail
