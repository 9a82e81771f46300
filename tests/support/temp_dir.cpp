#include "support/temp_dir.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace lunadb::test {

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

int run_command(const std::string& command, std::string* output) {
  std::string full = command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buffer{};
  std::string collected;
  while (std::size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) collected.append(buffer.data(), n);
  int status = pclose(pipe);
  if (output != nullptr) *output = std::move(collected);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return -1;
}

}  // namespace lunadb::test
