#pragma once
// A fresh directory under the system temp folder, removed (recursively) on destruction.

#include <filesystem>
#include <string>

namespace lunadb::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "lunadb-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Runs a shell command, returns its exit status and captures stdout+stderr (merged) into `output`.
int run_command(const std::string& command, std::string* output = nullptr);

}  // namespace lunadb::test
