#pragma once
// Settings, read as Luna's Python version reads them (docs/configuration.md): process
// environment first, then the env files (LUNA_ENV_FILE, or Luna's list: .env overlaid by
// .env.{LUNA_VARIANT}), then built-in defaults. Names are case-insensitive; unknown keys are ignored;
// a known key with a bad value throws lunadb::Error(ErrorKind::config) naming the key and the
// expected form, never echoing a secret.
//
// Thread-safety: Settings and DbUrl are plain values; load_settings() reads the process
// environment and must not race with setenv().

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lunadb {

enum class Backend { sqlite, postgresql, mysql, mssql };
const char* to_string(Backend backend) noexcept;

// A parsed SQLAlchemy-style URL: dialect[+driver]://[user[:password]@]host[:port]/database[?k=v&...]
struct DbUrl {
  Backend backend = Backend::sqlite;
  std::string dialect;   // as written: "postgresql", "postgres", "mysql", "mariadb", "mssql", "sqlite"
  std::string driver;    // as written after '+', may be empty: "psycopg2", "pymysql", "pyodbc", ...
  std::string user;      // percent-decoded
  std::string password;  // percent-decoded; a secret
  std::string host;      // without brackets for IPv6
  std::optional<int> port;
  std::string database;  // for sqlite: the file path ("" or ":memory:" for in-memory)
  std::vector<std::pair<std::string, std::string>> query;  // percent-decoded, in order

  std::optional<std::string> query_value(std::string_view key) const;  // case-sensitive key
  bool sqlite_in_memory() const;
  // The URL as written but with the password replaced by "***": safe for logs and errors.
  std::string redacted() const;
};

// Throws Error(ErrorKind::config) naming `setting_name` (e.g. "DB_URL") and the expected form.
DbUrl parse_db_url(std::string_view url, std::string_view setting_name = "DB_URL");

enum class EmbeddingProvider { ollama, openai_compatible };
// Where the vectors live: the embedded store under CHROMA_PATH, or PostgreSQL with pgvector.
enum class VectorBackend { embedded, pgvector };

struct Settings {
  std::filesystem::path env_file = ".env";  // LUNA_ENV_FILE or .env, absolute; empty: none asked for
  std::string variant = "personal";         // LUNA_VARIANT as Luna selects it, lower case
  std::vector<std::filesystem::path> env_files;  // the files actually read, in order (later wins)
  std::vector<std::string> warnings;        // settings Luna ignores silently (an unknown variant)
  std::filesystem::path data_dir = "data";
  std::string db_url;                 // raw, may be empty (a secret may be inside: use db.redacted())
  DbUrl db;                           // parsed DB_URL, or sqlite at db_path when DB_URL is empty
  std::filesystem::path db_path;      // absolute
  int pool_size = 10;
  int max_overflow = 20;
  double pool_timeout_s = 30;
  int pool_recycle_s = 1800;
  bool pool_pre_ping = true;          // DB_POOL_PRE_PING
  int pool_pre_ping_idle_s = 10;      // DB_POOL_PRE_PING_IDLE: ping only connections idle this long
  bool echo = false;                  // DB_ECHO
  int busy_timeout_ms = 5000;         // DB_BUSY_TIMEOUT_MS (SQLite)
  double connect_timeout_s = 10;      // DB_CONNECT_TIMEOUT
  std::filesystem::path chroma_path;  // absolute
  EmbeddingProvider embedding_provider = EmbeddingProvider::ollama;
  std::string ollama_base_url = "http://localhost:11434";
  std::string ollama_embed_model = "nomic-embed-text";
  std::string openai_base_url = "https://api.openai.com/v1";
  std::string openai_api_key;         // a secret
  std::string openai_embed_model = "text-embedding-3-small";
  double embed_timeout_s = 30;        // EMBED_TIMEOUT
  int embed_max_retries = 3;          // EMBED_MAX_RETRIES
  int embed_batch_size = 64;          // EMBED_BATCH_SIZE
  int memory_retrieval_count = 6;
  std::optional<std::filesystem::path> migrations_dir;  // LUNADB_MIGRATIONS_DIR
  std::string serve_host = "127.0.0.1";  // LUNADB_SERVE_HOST: where `lunadb serve` listens
  int serve_port = 8000;                 // LUNADB_SERVE_PORT
  std::string serve_token;               // LUNADB_SERVE_TOKEN: a secret; required off loopback
  VectorBackend vector_backend = VectorBackend::embedded;  // VECTOR_BACKEND
  // VECTOR_PG_TYPE: pgvector's element type for collections created from now on: vector (float32)
  // or halfvec (float16: half the storage and index size, ~3 significant digits per component).
  bool vector_halfvec = false;
  DbUrl vector_db;  // VECTOR_URL, else DB_URL when that is PostgreSQL; set only for pgvector (a secret may be inside)

  // Every setting as (NAME, value) in a stable order, secrets as "***"; for `lunadb config`.
  std::vector<std::pair<std::string, std::string>> describe() const;
};

// Reads the environment (and `overrides`, which win over it: used by tests and the CLI) plus the
// env file. Relative paths are resolved against `working_dir` (default: the current directory).
Settings load_settings(const std::map<std::string, std::string>& overrides = {},
                       const std::optional<std::filesystem::path>& working_dir = std::nullopt);

}  // namespace lunadb
