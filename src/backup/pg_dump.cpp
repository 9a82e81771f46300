#include "backup/pg_dump.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "lunadb/error.hpp"
#include "vector/io.hpp"

extern char** environ;

namespace lunadb::backup::detail {
namespace fs = std::filesystem;

namespace {

struct ProgramResult {
  int exit_code = -1;
  std::string errors;  // its stderr, at most 16 KiB
};

// Runs `argv` with `extra_env` added to this process's environment; stdout goes to /dev/null.
// posix_spawn rather than fork: safe in a process with other threads.
ProgramResult run_program(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw Error(ErrorKind::io, std::string("cannot create a pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    bool replaced = false;
    for (const auto& extra : extra_env) {
      const auto eq = extra.find('=');
      if (std::strncmp(*e, extra.c_str(), eq + 1) == 0) replaced = true;
    }
    if (!replaced) env_strings.emplace_back(*e);
  }
  for (const auto& extra : extra_env) env_strings.push_back(extra);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> c_args;
  for (auto& a : args) c_args.push_back(a.data());
  c_args.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, c_args[0], &actions, nullptr, c_args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    throw Error(ErrorKind::io, argv[0] + ": cannot be started: " + std::strerror(spawned));
  }
  ProgramResult result;
  char buffer[4096];
  for (;;) {
    const ssize_t got = read(pipe_fds[0], buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (result.errors.size() < 16384) result.errors.append(buffer, static_cast<std::size_t>(got));
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  while (!result.errors.empty() && (result.errors.back() == '\n' || result.errors.back() == ' ')) result.errors.pop_back();
  return result;
}

// A libpq connection-string value, quoted.
std::string conninfo_value(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::optional<fs::path> find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= dirs.size()) {
    std::size_t end = dirs.find(':', begin);
    if (end == std::string::npos) end = dirs.size();
    const std::string dir = dirs.substr(begin, end - begin);
    if (!dir.empty()) {
      const fs::path candidate = fs::path(dir) / program;
      if (access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate)) return candidate;
    }
    begin = end + 1;
  }
  return std::nullopt;
}

void run_pg_dump(const fs::path& pg_dump, const DbUrl& url, const std::string& snapshot, const fs::path& file) {
  std::string conninfo;
  auto add = [&](const std::string& key, const std::string& value) { conninfo += (conninfo.empty() ? "" : " ") + key + "=" + conninfo_value(value); };
  if (!url.host.empty()) add("host", url.host);
  if (url.port) add("port", std::to_string(*url.port));
  if (!url.database.empty()) add("dbname", url.database);
  if (!url.user.empty()) add("user", url.user);
  for (const auto& [key, value] : url.query) add(key, value);  // the same keywords lunadb's own connection passes to libpq
  std::vector<std::string> env;
  if (!url.password.empty()) env.push_back("PGPASSWORD=" + url.password);
  const auto result = run_program({pg_dump.string(), "--format=custom", "--no-password", "--snapshot=" + snapshot, "--file=" + file.string(),
                                   "--dbname=" + conninfo},
                                  env);
  if (result.exit_code != 0) {
    std::string message = result.errors;
    if (!url.password.empty()) {  // pg_dump does not print it, but a message must never carry it
      for (std::size_t at; (at = message.find(url.password)) != std::string::npos;) message.replace(at, url.password.size(), "***");
    }
    throw Error(ErrorKind::io, "--native: " + pg_dump.string() + " failed (exit " + std::to_string(result.exit_code) + "): " +
                                   (message.empty() ? "no message" : message) + "; run without --native for lunadb's own dump alone");
  }
  vector::detail::fsync_file(file);
}

void check_pg_dump_file(const fs::path& pg_restore, const fs::path& file) {
  const auto result = run_program({pg_restore.string(), "--list", file.string()}, {});
  if (result.exit_code != 0) {
    throw Error(ErrorKind::corrupt, file.string() + ": pg_restore cannot read it: " + (result.errors.empty() ? "no message" : result.errors));
  }
}

}  // namespace lunadb::backup::detail
