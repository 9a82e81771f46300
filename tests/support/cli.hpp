#pragma once
// Runs the lunadb executable as a user would: in `dir`, with a clean environment holding only PATH,
// HOME and `env` (KEY=VALUE words, shell-quoted by the caller). Header-only because
// LUNADB_CLI_PATH is defined for each test executable, not for the support library.

#include <string>

#include "support/temp_dir.hpp"

namespace lunadb::test {

struct CliResult {
  int code;
  std::string output;  // stdout and stderr, merged
};

inline CliResult run_lunadb(const TempDir& dir, const std::string& args, const std::string& env = "") {
  const std::string command = "cd '" + dir.path().string() + "' && env -i PATH=\"$PATH\" HOME=\"$HOME\" " + env +
                              " " + LUNADB_CLI_PATH + " " + args;
  CliResult result{};
  result.code = run_command(command, &result.output);
  return result;
}

}  // namespace lunadb::test
