#include "support/servers.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>

#include "lunadb/error.hpp"
#include "sql/backends.hpp"

namespace lunadb::test {

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

}  // namespace

std::string pg_url() { return env_or("LUNADB_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432"); }
std::string mysql_url() { return env_or("LUNADB_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306"); }
std::string pgbouncer_url() { return env_or("LUNADB_TEST_PGBOUNCER_URL", "postgresql://postgres@127.0.0.1:6432"); }
std::string pgvector_url() { return env_or("LUNADB_TEST_PGVECTOR_URL", "postgresql://postgres@127.0.0.1:5433"); }
std::string pgvector_pgbouncer_url() {
  return env_or("LUNADB_TEST_PGVECTOR_PGBOUNCER_URL", "postgresql://postgres@127.0.0.1:6433");
}
bool in_ci() {
  const char* value = std::getenv("CI");
  return value && *value;
}

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  static const unsigned salt = std::random_device{}() % 100000;
  return prefix + "_" + std::to_string(getpid()) + "_" + std::to_string(salt) + "_" + std::to_string(++counter);
}

DbUrl parse_server_url(const std::string& url) {
  const auto scheme = url.find("://");
  const auto query = url.find('?');
  const std::string base = url.substr(0, query);
  std::string tail = query == std::string::npos ? "" : url.substr(query);
  const bool has_path = scheme != std::string::npos && base.find('/', scheme + 3) != std::string::npos &&
                        base.back() != '/';
  if (has_path) return parse_db_url(url, "test server URL");
  const bool mysql = url.rfind("mysql", 0) == 0 || url.rfind("mariadb", 0) == 0;
  std::string fixed = base;
  if (fixed.back() != '/') fixed += '/';
  return parse_db_url(fixed + (mysql ? "mysql" : "postgres") + tail, "test server URL");
}

std::unique_ptr<sql::Connection> connect(const DbUrl& url, double connect_timeout_s) {
  sql::ConnectOptions options;
  options.connect_timeout_s = connect_timeout_s;
  options.echo = false;
  if (url.backend == Backend::postgresql) return sql::open_postgres_connection(url, options);
  if (url.backend == Backend::mysql) return sql::open_mysql_connection(url, options);
  return sql::open_connection(url, options);
}

std::optional<std::string> server_unreachable(const std::string& url) {
  // One probe per URL per process: a dead server should not cost a connect timeout per test.
  static std::mutex mutex;
  static std::map<std::string, std::optional<std::string>> cache;
  std::lock_guard lock(mutex);
  auto found = cache.find(url);
  if (found != cache.end()) return found->second;
  std::optional<std::string> why;
  try {
    DbUrl parsed = parse_server_url(url);
    connect(parsed, 3)->ping();
  } catch (const std::exception& e) {
    why = e.what();
  }
  cache.emplace(url, why);
  return why;
}

DbUrl with_database(const DbUrl& url, const std::string& database) {
  DbUrl out = url;
  out.database = database;
  return out;
}

FreshDatabase::FreshDatabase(const std::string& server_url)
    : server_url_(server_url), server_(parse_server_url(server_url)) {
  name_ = unique_name("lunadb_test");
  auto admin_connection = admin();
  if (server_.backend == Backend::mysql) {
    admin_connection->execute("CREATE DATABASE `" + name_ + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
  } else {
    admin_connection->execute("CREATE DATABASE \"" + name_ + "\" ENCODING 'UTF8' TEMPLATE template0");
  }
  url_ = with_database(server_, name_);
}

FreshDatabase::~FreshDatabase() {
  try {
    auto admin_connection = admin();
    if (server_.backend == Backend::mysql) {
      admin_connection->execute("DROP DATABASE IF EXISTS `" + name_ + "`");
    } else {
      admin_connection->execute("DROP DATABASE IF EXISTS \"" + name_ + "\" WITH (FORCE)");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "warning: could not drop test database %s: %s\n", name_.c_str(), e.what());
  }
}

std::string url_with_database(const std::string& server_url, const std::string& database) {
  std::string base = server_url;
  const auto query = base.find('?');
  std::string query_part = query == std::string::npos ? "" : base.substr(query);
  if (query != std::string::npos) base = base.substr(0, query);
  const auto scheme = base.find("://");
  const auto slash = base.find('/', scheme + 3);
  if (slash != std::string::npos) base = base.substr(0, slash);
  return base + "/" + database + query_part;
}

void close_pgbouncer_server_connections(const std::string& bouncer_url, const std::string& database) {
  try {
    connect(with_database(parse_server_url(bouncer_url), "pgbouncer"))->execute("KILL " + database);
  } catch (const std::exception&) {
  }
}

std::string FreshDatabase::url_string() const { return url_with_database(server_url_, name_); }

std::unique_ptr<sql::Connection> FreshDatabase::admin() const {
  return test::connect(with_database(server_, server_.backend == Backend::mysql ? "" : "postgres"));
}

}  // namespace lunadb::test
