// load_settings(): overrides > process environment > env file > defaults, per setting.
// Names are matched case-insensitively. When one source holds several spellings of a name
// (DB_URL and db_url both exported, or both in the overrides) the spelling that sorts first in
// byte order wins: that is the upper-case one when present, and the choice never depends on the
// order of the environment block. In the env file the last line wins, as with python-dotenv.

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "config/env_file.hpp"
#include "config/text.hpp"
#include "lunadb/config.hpp"
#include "lunadb/error.hpp"

extern char** environ;  // POSIX; declared here because <unistd.h> only does so with _GNU_SOURCE

namespace lunadb {

using config_detail::iequals;
using config_detail::quote_for_message;
using config_detail::to_upper;
using config_detail::trim;

namespace {

constexpr std::array<std::string_view, 32> kSettingNames{
    "LUNA_ENV_FILE",
    "LUNA_VARIANT",
    "LUNA_DATA_DIR",
    "DB_URL",
    "DB_PATH",
    "DB_POOL_SIZE",
    "DB_MAX_OVERFLOW",
    "DB_POOL_TIMEOUT",
    "DB_POOL_RECYCLE",
    "DB_POOL_PRE_PING",
    "DB_POOL_PRE_PING_IDLE",
    "DB_ECHO",
    "DB_BUSY_TIMEOUT_MS",
    "DB_CONNECT_TIMEOUT",
    "CHROMA_PATH",
    "EMBEDDING_PROVIDER",
    "OLLAMA_BASE_URL",
    "OLLAMA_EMBED_MODEL",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_EMBED_MODEL",
    "EMBED_TIMEOUT",
    "EMBED_MAX_RETRIES",
    "EMBED_BATCH_SIZE",
    "MEMORY_RETRIEVAL_COUNT",
    "LUNADB_MIGRATIONS_DIR",
    "LUNADB_SERVE_HOST",
    "LUNADB_SERVE_PORT",
    "LUNADB_SERVE_TOKEN",
    "VECTOR_BACKEND",
    "VECTOR_PG_TYPE",
    "VECTOR_URL",
};

// Timeouts above a day are certainly typos, and the cap keeps every later conversion to
// milliseconds (or microseconds) far away from overflow.
constexpr double kMaxTimeoutSeconds = 86400;
// OpenAI's embeddings endpoint accepts at most 2048 inputs per request.
constexpr int kMaxEmbedBatch = 2048;

bool is_setting_name(std::string_view upper_name) {
  return std::find(kSettingNames.begin(), kSettingNames.end(), upper_name) != kSettingNames.end();
}

struct RawSetting {
  std::string value;
  std::string spelling;  // the name as written in its source
  std::string origin;    // "the environment", "the overrides", "/path/.env line 3"
};

// One source (overrides or environment) where several spellings of a name may coexist.
class SpellingResolvedSource {
 public:
  explicit SpellingResolvedSource(std::string origin) : origin_(std::move(origin)) {}

  void offer(std::string_view name, std::string_view value) {
    std::string canonical = to_upper(name);
    if (!is_setting_name(canonical)) return;
    auto [entry, inserted] = values_.try_emplace(canonical);
    RawSetting& current = entry->second;
    // Byte order puts the all-upper-case spelling first, so it wins whenever it is present.
    if (!inserted && current.spelling < name) return;
    current = RawSetting{std::string(value), std::string(name), origin_};
  }

  const RawSetting* find(std::string_view canonical) const {
    auto found = values_.find(std::string(canonical));
    return found == values_.end() ? nullptr : &found->second;
  }

 private:
  std::string origin_;
  std::map<std::string, RawSetting> values_;
};

std::filesystem::path resolve_path(const std::filesystem::path& path,
                                   const std::filesystem::path& working_dir) {
  std::filesystem::path absolute = path.is_absolute() ? path : working_dir / path;
  absolute = absolute.lexically_normal();
  if (absolute.has_relative_path() && absolute.filename().empty()) absolute = absolute.parent_path();
  return absolute;
}

class SettingSources {
 public:
  SettingSources(const std::map<std::string, std::string>& overrides, std::filesystem::path working_dir)
      : working_dir_(std::move(working_dir)) {
    for (const auto& [name, value] : overrides) overrides_.offer(name, value);
    for (char** variable = environ; variable != nullptr && *variable != nullptr; ++variable) {
      const std::string_view entry(*variable);
      const std::size_t equals = entry.find('=');
      if (equals == std::string_view::npos || equals == 0) continue;
      environment_.offer(entry.substr(0, equals), entry.substr(equals + 1));
    }
    raw_overrides_ = &overrides;
  }

  const std::filesystem::path& working_dir() const { return working_dir_; }

  // LUNA_ENV_FILE comes from the overrides or the environment only. Empty means "no env file".
  // Without it the files are Luna's list: `.env`, then `.env.{variant}` when that file exists
  // and the variant is one Luna knows; a later file overrides an earlier one.
  void read_env_files(Settings& settings) {
    const RawSetting* chosen = overrides_.find("LUNA_ENV_FILE");
    if (chosen == nullptr) chosen = environment_.find("LUNA_ENV_FILE");
    const bool explicit_file = chosen != nullptr;
    const std::string_view file_name = explicit_file ? trim(chosen->value) : std::string_view(".env");
    settings.variant = selected_variant(nullptr);
    if (file_name.empty()) {
      settings.env_file.clear();
      return;
    }
    const std::filesystem::path path = resolve_path(std::filesystem::path(file_name), working_dir_);
    settings.env_file = path;
    const std::optional<config_detail::ParsedEnvText> primary = parse_file(path);
    if (!primary) {
      // The default .env is optional; a file named explicitly that is missing is almost always
      // a typo, and silently running on defaults would hide it.
      if (explicit_file) {
        throw Error(ErrorKind::config,
                    fmt::format("LUNA_ENV_FILE names an env file that does not exist: {}", path.string()));
      }
    } else {
      take_values(*primary, path);
      settings.env_files.push_back(path);
      settings.variant = selected_variant(&*primary);
    }
    if (explicit_file) return;  // an explicit file replaces Luna's whole list, as in Luna
    if (settings.variant != "personal" && settings.variant != "business") {
      settings.warnings.push_back(fmt::format(
          "LUNA_VARIANT is {}, which Luna does not know (personal or business): no .env.{{variant}} file "
          "is read, as Luna does",
          quote_for_message(settings.variant)));
      return;
    }
    const std::filesystem::path variant_path = working_dir_ / (".env." + settings.variant);
    if (const std::optional<config_detail::ParsedEnvText> overlay = parse_file(variant_path)) {
      take_values(*overlay, variant_path);
      settings.env_files.push_back(variant_path);
    }
  }

  const RawSetting* find(std::string_view canonical) const {
    if (const RawSetting* found = overrides_.find(canonical)) return found;
    if (const RawSetting* found = environment_.find(canonical)) return found;
    auto in_file = file_values_.find(std::string(canonical));
    return in_file == file_values_.end() ? nullptr : &in_file->second;
  }

 private:
  // Luna's choice: LUNA_VARIANT from the environment, else the first luna_variant line of .env,
  // else personal; trimmed and lower-cased, an empty value counting as unset.
  std::string selected_variant(const config_detail::ParsedEnvText* env_file) const {
    for (const SpellingResolvedSource* source : {&overrides_, &environment_}) {
      const RawSetting* found = source->find("LUNA_VARIANT");
      if (found != nullptr && !trim(found->value).empty()) return config_detail::to_lower(trim(found->value));
    }
    if (env_file != nullptr) {
      for (const config_detail::EnvEntry& entry : env_file->entries) {
        if (entry.value && iequals(entry.key, "LUNA_VARIANT") && !trim(*entry.value).empty()) {
          return config_detail::to_lower(trim(*entry.value));
        }
      }
    }
    return "personal";
  }

  // Each file is expanded on its own (${NAME} sees its own lines and the environment), as
  // pydantic-settings reads each of its env files with python-dotenv.
  std::optional<config_detail::ParsedEnvText> parse_file(const std::filesystem::path& path) const {
    const std::optional<std::string> text = config_detail::read_env_file(path);
    if (!text) return std::nullopt;
    config_detail::ParsedEnvText parsed = config_detail::parse_env_text(*text);
    config_detail::expand_variables(
        parsed.entries, [this](const std::string& name) -> std::optional<std::string> {
          if (auto found = raw_overrides_->find(name); found != raw_overrides_->end()) return found->second;
          if (const char* value = std::getenv(name.c_str())) return std::string(value);
          return std::nullopt;
        });
    return parsed;
  }

  void take_values(const config_detail::ParsedEnvText& parsed, const std::filesystem::path& path) {
    for (const config_detail::EnvEntry& entry : parsed.entries) {
      if (!entry.value) continue;  // a bare `KEY` line sets nothing, as in python-dotenv
      std::string canonical = to_upper(entry.key);
      if (!is_setting_name(canonical) || canonical == "LUNA_ENV_FILE") continue;
      file_values_[canonical] =
          RawSetting{*entry.value, entry.key, fmt::format("{} line {}", path.string(), entry.line)};
    }
  }

  std::filesystem::path working_dir_;
  SpellingResolvedSource overrides_{"the overrides"};
  SpellingResolvedSource environment_{"the environment"};
  const std::map<std::string, std::string>* raw_overrides_ = nullptr;
  std::map<std::string, RawSetting> file_values_;
};

// Reads typed values; every failure names the setting, the expected form and where the value
// came from. Values are trimmed; an empty value means "not set" (the default applies).
class SettingReader {
 public:
  explicit SettingReader(const SettingSources& sources) : sources_(sources) {}

  struct Found {
    std::string value;
    const RawSetting* raw;
  };

  std::optional<Found> get(std::string_view name) const {
    const RawSetting* raw = sources_.find(name);
    if (raw == nullptr) return std::nullopt;
    const std::string_view value = trim(raw->value);
    if (value.empty()) return std::nullopt;
    return Found{std::string(value), raw};
  }

  [[noreturn]] static void fail(std::string_view name, std::string_view expected, const Found& found,
                                bool show_value = true) {
    std::string message = fmt::format("{} must be {}", name, expected);
    if (show_value) message += fmt::format(" (got {})", quote_for_message(found.value));
    message += origin_suffix(name, *found.raw);
    throw Error(ErrorKind::config, message);
  }

  static std::string origin_suffix(std::string_view name, const RawSetting& raw) {
    std::string suffix = fmt::format(", from {}", raw.origin);
    if (raw.spelling != name) suffix += fmt::format(" (spelled {})", raw.spelling);
    return suffix;
  }

  std::string text(std::string_view name, std::string fallback) const {
    auto found = get(name);
    return found ? found->value : std::move(fallback);
  }

  int whole_number(std::string_view name, int fallback, long long minimum, long long maximum,
                   std::string_view expected) const {
    auto found = get(name);
    if (!found) return fallback;
    std::string_view digits = found->value;
    if (digits.starts_with('+')) digits.remove_prefix(1);
    long long number = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || number < minimum ||
        number > maximum) {
      fail(name, expected, *found);
    }
    return static_cast<int>(number);
  }

  double seconds(std::string_view name, double fallback) const {
    auto found = get(name);
    if (!found) return fallback;
    std::string_view digits = found->value;
    if (digits.starts_with('+')) digits.remove_prefix(1);
    double number = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
        !std::isfinite(number) || number <= 0 || number > kMaxTimeoutSeconds) {
      fail(name, fmt::format("a number of seconds > 0 and <= {} (e.g. 30 or 2.5)", kMaxTimeoutSeconds),
           *found);
    }
    return number;
  }

  bool boolean(std::string_view name, bool fallback) const {
    auto found = get(name);
    if (!found) return fallback;
    // The spellings pydantic accepts, so existing .env files keep working.
    for (std::string_view yes : {"true", "1", "yes", "on", "t", "y"}) {
      if (iequals(found->value, yes)) return true;
    }
    for (std::string_view no : {"false", "0", "no", "off", "f", "n"}) {
      if (iequals(found->value, no)) return false;
    }
    fail(name, "true or false (also accepted: 1/0, yes/no, on/off)", *found);
  }

  std::filesystem::path path(std::string_view name, const std::filesystem::path& fallback) const {
    auto found = get(name);
    return resolve_path(found ? std::filesystem::path(found->value) : fallback, sources_.working_dir());
  }

  // An http(s) base URL without trailing slashes (clients append "/api/embed", "/embeddings").
  std::string http_base_url(std::string_view name, std::string fallback) const {
    auto found = get(name);
    if (!found) return fallback;
    std::string_view url = found->value;
    const std::size_t scheme_end = url.find("://");
    const std::string_view scheme = scheme_end == std::string_view::npos ? "" : url.substr(0, scheme_end);
    const bool http = iequals(scheme, "http") || iequals(scheme, "https");
    const bool has_host = http && scheme_end + 3 < url.size() && url[scheme_end + 3] != '/';
    const bool has_space =
        std::any_of(url.begin(), url.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20; });
    if (!http || !has_host || has_space) {
      Found shown = *found;
      shown.value = without_userinfo(url);
      fail(name, "an http:// or https:// URL such as http://localhost:11434", shown);
    }
    while (url.ends_with('/')) url.remove_suffix(1);
    return std::string(url);
  }

  // user:password@ in a base URL is a secret; it is replaced before the URL is shown.
  static std::string without_userinfo(std::string_view url) {
    const std::size_t scheme_end = url.find("://");
    const std::size_t authority_begin = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
    const std::size_t at = url.rfind('@');
    if (at == std::string_view::npos || at < authority_begin) return std::string(url);
    return std::string(url.substr(0, authority_begin)) + "***@" + std::string(url.substr(at + 1));
  }

 private:
  const SettingSources& sources_;
};

EmbeddingProvider read_provider(const SettingReader& reader) {
  auto found = reader.get("EMBEDDING_PROVIDER");
  if (!found) return EmbeddingProvider::ollama;
  if (iequals(found->value, "ollama")) return EmbeddingProvider::ollama;
  for (std::string_view name : {"openai-compatible", "openai_compatible", "openai"}) {
    if (iequals(found->value, name)) return EmbeddingProvider::openai_compatible;
  }
  SettingReader::fail("EMBEDDING_PROVIDER", "ollama or openai-compatible (openai is accepted as an alias)",
                      *found);
}

// VECTOR_URL may be left out when DB_URL already is the PostgreSQL database the vectors go to:
// a deployment on PostgreSQL then switches with one setting.
void resolve_vector_backend(const SettingReader& reader, Settings& settings) {
  auto backend = reader.get("VECTOR_BACKEND");
  if (backend && iequals(backend->value, "pgvector")) {
    settings.vector_backend = VectorBackend::pgvector;
  } else if (backend && !iequals(backend->value, "embedded")) {
    SettingReader::fail("VECTOR_BACKEND", "embedded or pgvector", *backend);
  }
  if (auto type = reader.get("VECTOR_PG_TYPE")) {
    if (iequals(type->value, "halfvec")) {
      settings.vector_halfvec = true;
    } else if (!iequals(type->value, "vector")) {
      SettingReader::fail("VECTOR_PG_TYPE", "vector or halfvec", *type);
    }
  }
  auto url = reader.get("VECTOR_URL");
  if (settings.vector_backend == VectorBackend::embedded) return;
  if (url && !url->value.empty()) {
    settings.vector_db = parse_db_url(url->value, "VECTOR_URL");
    if (settings.vector_db.backend != Backend::postgresql) {
      throw Error(ErrorKind::config, "VECTOR_URL must be a PostgreSQL URL for VECTOR_BACKEND=pgvector (got " +
                                         settings.vector_db.redacted() + ")");
    }
  } else if (settings.db.backend == Backend::postgresql) {
    settings.vector_db = settings.db;
  } else {
    throw Error(ErrorKind::config, "VECTOR_BACKEND=pgvector needs VECTOR_URL (a postgresql:// URL), or a PostgreSQL DB_URL to default to");
  }
}

// API keys and bearer tokens: secrets that travel in an HTTP header.
std::string read_secret_token(const SettingReader& reader, const char* name) {
  auto found = reader.get(name);
  if (!found) return "";
  const bool printable = std::all_of(found->value.begin(), found->value.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte != 0x7f;
  });
  // It goes into an HTTP header: a space or line break would corrupt (or inject into) the request.
  if (!printable) {
    SettingReader::fail(
        name,
        "a single token without spaces or control characters (the value is not shown: it is a secret)",
        *found, false);
  }
  return found->value;
}

void resolve_database(const SettingReader& reader, const SettingSources& sources, Settings& settings) {
  settings.db_path = reader.path("DB_PATH", settings.data_dir / "luna.db");
  auto url = reader.get("DB_URL");
  if (!url) {
    settings.db_url.clear();
    settings.db = DbUrl{};
    settings.db.backend = Backend::sqlite;
    settings.db.dialect = "sqlite";
    settings.db.database = settings.db_path.string();
    return;
  }
  settings.db_url = url->value;
  try {
    settings.db = parse_db_url(url->value, "DB_URL");
  } catch (const Error& error) {
    throw Error(ErrorKind::config, error.what() + SettingReader::origin_suffix("DB_URL", *url->raw));
  }
  if (settings.db.backend != Backend::sqlite) return;
  if (settings.db.sqlite_in_memory()) {
    settings.db_path.clear();
    return;
  }
  // A SQLite URI filename (sqlite:///file:name?uri=true) is passed through untouched.
  if (settings.db.database.starts_with("file:")) {
    settings.db_path.clear();
    return;
  }
  settings.db_path = resolve_path(settings.db.database, sources.working_dir());
  settings.db.database = settings.db_path.string();
}

std::string format_seconds(double seconds) { return fmt::format("{}", seconds); }

}  // namespace

std::vector<std::pair<std::string, std::string>> Settings::describe() const {
  const auto flag = [](bool value) { return std::string(value ? "true" : "false"); };
  return {
      {"LUNA_ENV_FILE", env_file.string()},
      {"LUNA_VARIANT", variant},
      {"LUNA_DATA_DIR", data_dir.string()},
      {"DB_URL", db_url.empty() ? std::string() : db.redacted()},
      {"DB_PATH", db_path.string()},
      {"DB_POOL_SIZE", std::to_string(pool_size)},
      {"DB_MAX_OVERFLOW", std::to_string(max_overflow)},
      {"DB_POOL_TIMEOUT", format_seconds(pool_timeout_s)},
      {"DB_POOL_RECYCLE", std::to_string(pool_recycle_s)},
      {"DB_POOL_PRE_PING", flag(pool_pre_ping)},
      {"DB_POOL_PRE_PING_IDLE", std::to_string(pool_pre_ping_idle_s)},
      {"DB_ECHO", flag(echo)},
      {"DB_BUSY_TIMEOUT_MS", std::to_string(busy_timeout_ms)},
      {"DB_CONNECT_TIMEOUT", format_seconds(connect_timeout_s)},
      {"CHROMA_PATH", chroma_path.string()},
      {"EMBEDDING_PROVIDER",
       embedding_provider == EmbeddingProvider::ollama ? "ollama" : "openai-compatible"},
      {"OLLAMA_BASE_URL", ollama_base_url},
      {"OLLAMA_EMBED_MODEL", ollama_embed_model},
      {"OPENAI_BASE_URL", openai_base_url},
      {"OPENAI_API_KEY", openai_api_key.empty() ? std::string() : std::string("***")},
      {"OPENAI_EMBED_MODEL", openai_embed_model},
      {"EMBED_TIMEOUT", format_seconds(embed_timeout_s)},
      {"EMBED_MAX_RETRIES", std::to_string(embed_max_retries)},
      {"EMBED_BATCH_SIZE", std::to_string(embed_batch_size)},
      {"MEMORY_RETRIEVAL_COUNT", std::to_string(memory_retrieval_count)},
      {"LUNADB_MIGRATIONS_DIR", migrations_dir ? migrations_dir->string() : std::string()},
      {"LUNADB_SERVE_HOST", serve_host},
      {"LUNADB_SERVE_PORT", std::to_string(serve_port)},
      {"LUNADB_SERVE_TOKEN", serve_token.empty() ? std::string() : std::string("***")},
      {"VECTOR_BACKEND", vector_backend == VectorBackend::embedded ? "embedded" : "pgvector"},
      {"VECTOR_PG_TYPE", vector_halfvec ? "halfvec" : "vector"},
      {"VECTOR_URL", vector_backend == VectorBackend::pgvector ? vector_db.redacted() : std::string()},
  };
}

Settings load_settings(const std::map<std::string, std::string>& overrides,
                       const std::optional<std::filesystem::path>& working_dir) {
  std::filesystem::path base =
      working_dir ? std::filesystem::absolute(*working_dir) : std::filesystem::current_path();
  base = base.lexically_normal();
  SettingSources sources(overrides, base);
  Settings settings;
  sources.read_env_files(settings);
  const SettingReader reader(sources);
  constexpr long long kIntMax = std::numeric_limits<int>::max();

  settings.data_dir = reader.path("LUNA_DATA_DIR", "data");
  resolve_database(reader, sources, settings);
  settings.pool_size = reader.whole_number("DB_POOL_SIZE", 10, 1, kIntMax, "a whole number >= 1");
  settings.max_overflow =
      reader.whole_number("DB_MAX_OVERFLOW", 20, -1, kIntMax, "a whole number >= -1 (-1 means no limit)");
  settings.pool_timeout_s = reader.seconds("DB_POOL_TIMEOUT", 30);
  settings.pool_recycle_s = reader.whole_number("DB_POOL_RECYCLE", 1800, -1, kIntMax,
                                                "a whole number of seconds >= 0, or -1 to never recycle");
  settings.pool_pre_ping = reader.boolean("DB_POOL_PRE_PING", true);
  settings.pool_pre_ping_idle_s = reader.whole_number(
      "DB_POOL_PRE_PING_IDLE", 10, 0, kIntMax, "a whole number of seconds >= 0 (0 pings on every checkout)");
  settings.echo = reader.boolean("DB_ECHO", false);
  settings.busy_timeout_ms =
      reader.whole_number("DB_BUSY_TIMEOUT_MS", 5000, 0, kIntMax, "a whole number of milliseconds >= 0");
  settings.connect_timeout_s = reader.seconds("DB_CONNECT_TIMEOUT", 10);
  settings.chroma_path = reader.path("CHROMA_PATH", settings.data_dir / "chroma");
  settings.embedding_provider = read_provider(reader);
  settings.ollama_base_url = reader.http_base_url("OLLAMA_BASE_URL", "http://localhost:11434");
  settings.ollama_embed_model = reader.text("OLLAMA_EMBED_MODEL", "nomic-embed-text");
  settings.openai_base_url = reader.http_base_url("OPENAI_BASE_URL", "https://api.openai.com/v1");
  settings.openai_api_key = read_secret_token(reader, "OPENAI_API_KEY");
  settings.openai_embed_model = reader.text("OPENAI_EMBED_MODEL", "text-embedding-3-small");
  settings.embed_timeout_s = reader.seconds("EMBED_TIMEOUT", 30);
  settings.embed_max_retries =
      reader.whole_number("EMBED_MAX_RETRIES", 3, 0, 100, "a whole number from 0 to 100");
  settings.embed_batch_size = reader.whole_number("EMBED_BATCH_SIZE", 64, 1, kMaxEmbedBatch,
                                                  fmt::format("a whole number from 1 to {}", kMaxEmbedBatch));
  settings.memory_retrieval_count =
      reader.whole_number("MEMORY_RETRIEVAL_COUNT", 6, 1, kIntMax, "a whole number >= 1");
  if (reader.get("LUNADB_MIGRATIONS_DIR")) settings.migrations_dir = reader.path("LUNADB_MIGRATIONS_DIR", {});
  settings.serve_host = reader.text("LUNADB_SERVE_HOST", "127.0.0.1");
  settings.serve_port = reader.whole_number("LUNADB_SERVE_PORT", 8000, 0, 65535, "a TCP port from 0 to 65535 (0: any free port)");
  settings.serve_token = read_secret_token(reader, "LUNADB_SERVE_TOKEN");
  resolve_vector_backend(reader, settings);
  return settings;
}

}  // namespace lunadb
