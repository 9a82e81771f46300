// load_settings(): sources and their precedence, case-insensitive names, the env file, path
// resolution, validation of every setting, and describe().

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lunadb/config.hpp"
#include "lunadb/error.hpp"
#include "support/temp_dir.hpp"

extern char** environ;

namespace lunadb {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kAllNames = {
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

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
  return text;
}

// Removes every spelling of every lunadb setting from the process environment for the lifetime
// of a test, and puts back exactly what was there (and removes what the test added) afterwards.
class ScopedEnvironment {
 public:
  ScopedEnvironment() {
    std::vector<std::string> present;
    for (char** variable = environ; *variable != nullptr; ++variable) {
      const std::string entry(*variable);
      const std::size_t equals = entry.find('=');
      if (equals == std::string::npos) continue;
      const std::string name = entry.substr(0, equals);
      if (std::find(kAllNames.begin(), kAllNames.end(), upper(name)) != kAllNames.end())
        present.push_back(name);
    }
    for (const std::string& name : present) unset(name);
  }
  ~ScopedEnvironment() {
    for (auto entry = saved_.rbegin(); entry != saved_.rend(); ++entry) {
      if (entry->second) {
        ::setenv(entry->first.c_str(), entry->second->c_str(), 1);
      } else {
        ::unsetenv(entry->first.c_str());
      }
    }
  }
  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

  void set(const std::string& name, const std::string& value) {
    remember(name);
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  void unset(const std::string& name) {
    remember(name);
    ::unsetenv(name.c_str());
  }

 private:
  void remember(const std::string& name) {
    const char* value = std::getenv(name.c_str());
    saved_.emplace_back(name, value ? std::optional<std::string>(value) : std::nullopt);
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

class SettingsTest : public ::testing::Test {
 protected:
  void write_env(const std::string& text, const std::string& name = ".env") {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  Settings load(const std::map<std::string, std::string>& overrides = {}) {
    return load_settings(overrides, dir_.path());
  }

  std::string error_of(const std::map<std::string, std::string>& overrides = {}) {
    try {
      load(overrides);
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::config) << error.what();
      return error.what();
    }
    ADD_FAILURE() << "expected a configuration error";
    return "";
  }

  std::string value_in(const Settings& settings, const std::string& name) {
    for (const auto& [key, value] : settings.describe()) {
      if (key == name) return value;
    }
    ADD_FAILURE() << name << " missing from describe()";
    return "";
  }

  ScopedEnvironment environment_;
  test::TempDir dir_{"lunadb-config-test"};
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(SettingsTest, DefaultsWithoutAnyEnvFile) {
  const Settings settings = load();
  const fs::path root = dir_.path();
  EXPECT_EQ(settings.env_file, root / ".env");
  EXPECT_EQ(settings.data_dir, root / "data");
  EXPECT_EQ(settings.db_url, "");
  EXPECT_EQ(settings.db_path, root / "data" / "luna.db");
  EXPECT_EQ(settings.db.backend, Backend::sqlite);
  EXPECT_EQ(settings.db.database, (root / "data" / "luna.db").string());
  EXPECT_FALSE(settings.db.sqlite_in_memory());
  EXPECT_EQ(settings.pool_size, 10);
  EXPECT_EQ(settings.max_overflow, 20);
  EXPECT_EQ(settings.pool_timeout_s, 30);
  EXPECT_EQ(settings.pool_recycle_s, 1800);
  EXPECT_TRUE(settings.pool_pre_ping);
  EXPECT_EQ(settings.pool_pre_ping_idle_s, 10);
  EXPECT_FALSE(settings.echo);
  EXPECT_EQ(settings.busy_timeout_ms, 5000);
  EXPECT_EQ(settings.connect_timeout_s, 10);
  EXPECT_EQ(settings.chroma_path, root / "data" / "chroma");
  EXPECT_EQ(settings.embedding_provider, EmbeddingProvider::ollama);
  EXPECT_EQ(settings.ollama_base_url, "http://localhost:11434");
  EXPECT_EQ(settings.ollama_embed_model, "nomic-embed-text");
  EXPECT_EQ(settings.openai_base_url, "https://api.openai.com/v1");
  EXPECT_EQ(settings.openai_api_key, "");
  EXPECT_EQ(settings.openai_embed_model, "text-embedding-3-small");
  EXPECT_EQ(settings.embed_timeout_s, 30);
  EXPECT_EQ(settings.embed_max_retries, 3);
  EXPECT_EQ(settings.embed_batch_size, 64);
  EXPECT_EQ(settings.memory_retrieval_count, 6);
  EXPECT_EQ(settings.migrations_dir, std::nullopt);
}

TEST_F(SettingsTest, ReadsTheEnvFile) {
  write_env(
      "# Luna\n"
      "DB_URL=postgresql+psycopg2://luna:tiger@localhost:5432/luna\n"
      "DB_POOL_SIZE=5       # persistent connections\n"
      "DB_MAX_OVERFLOW=10\n"
      "DB_POOL_TIMEOUT=2.5\n"
      "DB_POOL_RECYCLE=-1\n"
      "DB_ECHO=true\n"
      "EMBEDDING_PROVIDER=openai\n"
      "OPENAI_API_KEY='sk-test-123'\n"
      "MEMORY_RETRIEVAL_COUNT=12\n"
      "SOMETHING_ELSE=ignored\n");
  const Settings settings = load();
  EXPECT_EQ(settings.db.backend, Backend::postgresql);
  EXPECT_EQ(settings.db.password, "tiger");
  EXPECT_EQ(settings.db_url, "postgresql+psycopg2://luna:tiger@localhost:5432/luna");
  EXPECT_EQ(settings.db_path, dir_.path() / "data" / "luna.db");  // still resolved, unused by the server
  EXPECT_EQ(settings.pool_size, 5);
  EXPECT_EQ(settings.max_overflow, 10);
  EXPECT_EQ(settings.pool_timeout_s, 2.5);
  EXPECT_EQ(settings.pool_recycle_s, -1);
  EXPECT_TRUE(settings.echo);
  EXPECT_EQ(settings.embedding_provider, EmbeddingProvider::openai_compatible);
  EXPECT_EQ(settings.openai_api_key, "sk-test-123");
  EXPECT_EQ(settings.memory_retrieval_count, 12);
}

TEST_F(SettingsTest, EnvFileSyntaxEndToEnd) {
  write_env(
      "\xEF\xBB\xBF# written on Windows\r\n"
      "export DB_POOL_SIZE=7\r\n"
      "OLLAMA_EMBED_MODEL=\"nomic-embed-text:latest\" # pinned\r\n"
      "\r\n"
      "LUNA_DATA_DIR='state dir'\r\n"
      "DB_PATH=${LUNA_DATA_DIR}/main.db\r\n");
  const Settings settings = load();
  EXPECT_EQ(settings.pool_size, 7);
  EXPECT_EQ(settings.ollama_embed_model, "nomic-embed-text:latest");
  EXPECT_EQ(settings.data_dir, dir_.path() / "state dir");
  EXPECT_EQ(settings.db_path, dir_.path() / "state dir" / "main.db");
}

TEST_F(SettingsTest, EnvironmentBeatsEnvFileAndOverridesBeatEnvironment) {
  write_env("DB_POOL_SIZE=3\nDB_MAX_OVERFLOW=4\nMEMORY_RETRIEVAL_COUNT=5\n");
  environment_.set("DB_MAX_OVERFLOW", "40");
  environment_.set("MEMORY_RETRIEVAL_COUNT", "50");
  const Settings settings = load({{"MEMORY_RETRIEVAL_COUNT", "500"}});
  EXPECT_EQ(settings.pool_size, 3);
  EXPECT_EQ(settings.max_overflow, 40);
  EXPECT_EQ(settings.memory_retrieval_count, 500);
}

TEST_F(SettingsTest, SetButEmptyValueMeansDefaultAndStillHidesLowerSources) {
  write_env("DB_URL=postgresql://luna@localhost/luna\nDB_POOL_SIZE=3\n");
  environment_.set("DB_URL", "");  // an exported empty DB_URL selects SQLite, as with pydantic
  const Settings settings = load({{"DB_POOL_SIZE", "  "}});
  EXPECT_EQ(settings.db.backend, Backend::sqlite);
  EXPECT_EQ(settings.pool_size, 10);
}

TEST_F(SettingsTest, ValuesAreTrimmed) {
  const Settings settings =
      load({{"DB_POOL_SIZE", " 4 "}, {"DB_ECHO", "\tyes "}, {"OPENAI_API_KEY", " sk-x "}});
  EXPECT_EQ(settings.pool_size, 4);
  EXPECT_TRUE(settings.echo);
  EXPECT_EQ(settings.openai_api_key, "sk-x");
}

TEST_F(SettingsTest, NamesAreCaseInsensitiveInEverySource) {
  write_env("db_pool_size=3\n");
  environment_.set("Db_Max_Overflow", "33");
  const Settings settings = load({{"memory_retrieval_count", "9"}});
  EXPECT_EQ(settings.pool_size, 3);
  EXPECT_EQ(settings.max_overflow, 33);
  EXPECT_EQ(settings.memory_retrieval_count, 9);
}

TEST_F(SettingsTest, UpperCaseSpellingWinsWithinTheEnvironment) {
  environment_.set("db_pool_size", "4");
  environment_.set("DB_POOL_SIZE", "3");
  environment_.set("db_max_overflow", "5");
  environment_.set("Db_Max_Overflow", "6");  // sorts before "db_max_overflow"
  const Settings settings = load();
  EXPECT_EQ(settings.pool_size, 3);
  EXPECT_EQ(settings.max_overflow, 6);
  const Settings overridden = load({{"db_pool_size", "8"}, {"DB_POOL_SIZE", "7"}});
  EXPECT_EQ(overridden.pool_size, 7);
}

TEST_F(SettingsTest, LastLineWinsInTheEnvFileWhateverTheCase) {
  write_env("DB_POOL_SIZE=3\ndb_pool_size=4\n");
  EXPECT_EQ(load().pool_size, 4);
}

TEST_F(SettingsTest, MissingDefaultEnvFileIsFine) {
  ASSERT_FALSE(fs::exists(dir_ / ".env"));
  EXPECT_EQ(load().pool_size, 10);
}

TEST_F(SettingsTest, EnvFileNamedByOverridesOrEnvironment) {
  write_env("DB_POOL_SIZE=3\n");
  fs::create_directory(dir_ / "conf");
  write_env("DB_POOL_SIZE=4\n", "conf/luna.env");
  const Settings from_override = load({{"LUNA_ENV_FILE", "conf/luna.env"}});
  EXPECT_EQ(from_override.pool_size, 4);
  EXPECT_EQ(from_override.env_file, dir_.path() / "conf" / "luna.env");
  environment_.set("luna_env_file", (dir_ / "conf" / "luna.env").string());
  EXPECT_EQ(load().pool_size, 4);
}

TEST_F(SettingsTest, LunaEnvFileInsideTheEnvFileIsIgnored) {
  write_env("LUNA_ENV_FILE=other.env\nDB_POOL_SIZE=3\n");
  write_env("DB_POOL_SIZE=4\n", "other.env");
  const Settings settings = load();
  EXPECT_EQ(settings.pool_size, 3);
  EXPECT_EQ(settings.env_file, dir_.path() / ".env");
}

TEST_F(SettingsTest, EmptyLunaEnvFileReadsNoFile) {
  write_env("DB_POOL_SIZE=3\n");
  const Settings settings = load({{"LUNA_ENV_FILE", ""}});
  EXPECT_EQ(settings.pool_size, 10);
  EXPECT_EQ(settings.env_file, fs::path());
  EXPECT_EQ(value_in(settings, "LUNA_ENV_FILE"), "");
}

// Luna's backend/config.py: `.env`, then `.env.{variant}` when it exists (variant from
// LUNA_VARIANT in the environment, else luna_variant in .env, else personal; only personal and
// business); a later file overrides an earlier one and the environment overrides both.
TEST_F(SettingsTest, PersonalVariantFileOverlaysDotEnvByDefault) {
  write_env("DB_POOL_SIZE=3\nDB_MAX_OVERFLOW=4\n");
  write_env("DB_URL=postgresql://luna@db.example/luna\nDB_POOL_SIZE=5\n", ".env.personal");
  write_env("DB_POOL_SIZE=6\n", ".env.business");
  const Settings settings = load();
  EXPECT_EQ(settings.variant, "personal");
  EXPECT_EQ(settings.db.backend, Backend::postgresql);
  EXPECT_EQ(settings.db.host, "db.example");
  EXPECT_EQ(settings.pool_size, 5);     // the overlay wins over .env
  EXPECT_EQ(settings.max_overflow, 4);  // what only .env sets still applies
  EXPECT_EQ(settings.env_files, (std::vector<fs::path>{dir_.path() / ".env", dir_.path() / ".env.personal"}));
  EXPECT_EQ(settings.env_file, dir_.path() / ".env");
  EXPECT_TRUE(settings.warnings.empty());
}

TEST_F(SettingsTest, VariantFileIsReadWithoutADotEnv) {
  write_env("DB_POOL_SIZE=5\n", ".env.personal");
  const Settings settings = load();
  EXPECT_EQ(settings.pool_size, 5);
  EXPECT_EQ(settings.env_files, (std::vector<fs::path>{dir_.path() / ".env.personal"}));
}

TEST_F(SettingsTest, EnvironmentAndOverridesBeatTheVariantFile) {
  write_env("DB_POOL_SIZE=3\n");
  write_env("DB_POOL_SIZE=5\nDB_MAX_OVERFLOW=7\n", ".env.personal");
  environment_.set("DB_POOL_SIZE", "8");
  const Settings from_environment = load();
  EXPECT_EQ(from_environment.pool_size, 8);
  EXPECT_EQ(from_environment.max_overflow, 7);
  EXPECT_EQ(load({{"DB_POOL_SIZE", "9"}}).pool_size, 9);
}

TEST_F(SettingsTest, VariantFromTheEnvironmentBeatsDotEnv) {
  write_env("luna_variant=personal\nDB_POOL_SIZE=3\n");
  write_env("DB_POOL_SIZE=5\n", ".env.personal");
  write_env("DB_POOL_SIZE=6\n", ".env.business");
  environment_.set("LUNA_VARIANT", "business");
  const Settings settings = load();
  EXPECT_EQ(settings.variant, "business");
  EXPECT_EQ(settings.pool_size, 6);
  EXPECT_EQ(settings.env_files, (std::vector<fs::path>{dir_.path() / ".env", dir_.path() / ".env.business"}));
  // The overrides (the CLI's --set) sit above the environment here too.
  EXPECT_EQ(load({{"LUNA_VARIANT", "personal"}}).pool_size, 5);
}

TEST_F(SettingsTest, VariantFromDotEnvNamesAreCaseInsensitiveAndValuesLowerCased) {
  write_env("Luna_Variant=  Business \nDB_POOL_SIZE=3\n");
  write_env("DB_POOL_SIZE=6\n", ".env.business");
  const Settings settings = load();
  EXPECT_EQ(settings.variant, "business");
  EXPECT_EQ(settings.pool_size, 6);
  environment_.set("luna_variant", "PERSONAL");  // Luna also reads the lower-case spelling
  write_env("DB_POOL_SIZE=5\n", ".env.personal");
  EXPECT_EQ(load().pool_size, 5);
}

TEST_F(SettingsTest, FirstVariantLineOfDotEnvChoosesTheFileAsInLuna) {
  // Luna's _read_env_value() stops at the first matching line.
  write_env("LUNA_VARIANT=business\nLUNA_VARIANT=personal\n");
  write_env("DB_POOL_SIZE=6\n", ".env.business");
  EXPECT_EQ(load().pool_size, 6);
}

TEST_F(SettingsTest, EmptyVariantMeansPersonal) {
  write_env("LUNA_VARIANT=\n");
  write_env("DB_POOL_SIZE=5\n", ".env.personal");
  environment_.set("LUNA_VARIANT", "");
  const Settings settings = load();
  EXPECT_EQ(settings.variant, "personal");
  EXPECT_EQ(settings.pool_size, 5);
}

TEST_F(SettingsTest, MissingVariantFileIsFine) {
  write_env("LUNA_VARIANT=business\nDB_POOL_SIZE=3\n");
  write_env("DB_POOL_SIZE=5\n", ".env.personal");  // not the selected variant: not read
  const Settings settings = load();
  EXPECT_EQ(settings.variant, "business");
  EXPECT_EQ(settings.pool_size, 3);
  EXPECT_EQ(settings.env_files, (std::vector<fs::path>{dir_.path() / ".env"}));
  EXPECT_TRUE(settings.warnings.empty());
}

TEST_F(SettingsTest, UnknownVariantReadsOnlyDotEnvAndWarns) {
  write_env("DB_POOL_SIZE=3\n");
  write_env("DB_POOL_SIZE=5\n", ".env.staging");
  environment_.set("LUNA_VARIANT", "Staging");
  const Settings settings = load();
  EXPECT_EQ(settings.variant, "staging");
  EXPECT_EQ(settings.pool_size, 3);
  EXPECT_EQ(settings.env_files, (std::vector<fs::path>{dir_.path() / ".env"}));
  ASSERT_EQ(settings.warnings.size(), 1U);
  EXPECT_TRUE(contains(settings.warnings[0], "LUNA_VARIANT")) << settings.warnings[0];
  EXPECT_TRUE(contains(settings.warnings[0], "'staging'")) << settings.warnings[0];
}

TEST_F(SettingsTest, VariantNamingAPathIsUnknownAndReadsNothing) {
  fs::create_directory(dir_ / "sub");
  write_env("DB_POOL_SIZE=5\n", "sub/x");
  environment_.set("LUNA_VARIANT", "/../sub/x");
  const Settings settings = load();
  EXPECT_EQ(settings.pool_size, 10);
  EXPECT_EQ(settings.warnings.size(), 1U);
}

TEST_F(SettingsTest, ExplicitEnvFileReplacesTheWholeList) {
  write_env("DB_POOL_SIZE=3\n");
  write_env("DB_POOL_SIZE=5\n", ".env.personal");
  write_env("DB_MAX_OVERFLOW=4\n", "only.env");
  const Settings settings = load({{"LUNA_ENV_FILE", "only.env"}});
  EXPECT_EQ(settings.pool_size, 10);
  EXPECT_EQ(settings.max_overflow, 4);
  EXPECT_EQ(settings.env_files, (std::vector<fs::path>{dir_.path() / "only.env"}));
  const Settings none = load({{"LUNA_ENV_FILE", ""}});
  EXPECT_EQ(none.pool_size, 10);
  EXPECT_TRUE(none.env_files.empty());
}

TEST_F(SettingsTest, EachEnvFileExpandsVariablesOnItsOwn) {
  write_env("LUNA_DATA_DIR=/srv/luna\n");
  write_env("CHROMA_PATH=${LUNA_DATA_DIR:-/fallback}/chroma\n", ".env.personal");
  EXPECT_EQ(load().chroma_path, fs::path("/fallback/chroma"));
}

TEST_F(SettingsTest, VariantFileErrorsNameThatFileAndLine) {
  write_env("DB_POOL_SIZE=3\n");
  write_env("# personal\nDB_POOL_SIZE=abc\n", ".env.personal");
  const std::string message = error_of();
  EXPECT_TRUE(contains(message, (dir_ / ".env.personal").string() + " line 2")) << message;
}

TEST_F(SettingsTest, UnreadableVariantFileIsAnError) {
  fs::create_directory(dir_ / ".env.personal");
  const std::string message = error_of();
  EXPECT_TRUE(contains(message, (dir_ / ".env.personal").string())) << message;
}

TEST_F(SettingsTest, ExplicitEnvFileThatDoesNotExistIsAnError) {
  const std::string message = error_of({{"LUNA_ENV_FILE", "typo.env"}});
  EXPECT_TRUE(contains(message, "LUNA_ENV_FILE")) << message;
  EXPECT_TRUE(contains(message, (dir_ / "typo.env").string())) << message;
}

TEST_F(SettingsTest, UnreadableEnvFileIsAnErrorNamingTheFile) {
  fs::create_directory(dir_ / ".env");  // exists, cannot be read as a file (works even as root)
  const std::string message = error_of();
  EXPECT_TRUE(contains(message, "cannot read env file")) << message;
  EXPECT_TRUE(contains(message, (dir_ / ".env").string())) << message;
}

TEST_F(SettingsTest, UnparseableEnvFileLinesAreSkipped) {
  write_env("DB_POOL_SIZE=3\nthis line is not an assignment\nDB_MAX_OVERFLOW=4\n");
  const Settings settings = load();
  EXPECT_EQ(settings.pool_size, 3);
  EXPECT_EQ(settings.max_overflow, 4);
}

TEST_F(SettingsTest, ExampleMessageForABadPoolSize) {
  const std::string message = error_of({{"DB_POOL_SIZE", "abc"}});
  EXPECT_TRUE(contains(message, "DB_POOL_SIZE must be a whole number >= 1 (got 'abc')")) << message;
  EXPECT_TRUE(contains(message, "from the overrides")) << message;
}

TEST_F(SettingsTest, ErrorsNameTheEnvFileLineAndSpelling) {
  write_env("# comment\n\ndb_pool_size=0\n");
  const std::string message = error_of();
  EXPECT_TRUE(contains(message, "DB_POOL_SIZE must be")) << message;
  EXPECT_TRUE(contains(message, (dir_ / ".env").string() + " line 3")) << message;
  EXPECT_TRUE(contains(message, "spelled db_pool_size")) << message;
  environment_.set("DB_ECHO", "maybe");
  write_env("");
  EXPECT_TRUE(contains(error_of(), "from the environment"));
}

struct BadValue {
  std::string name;
  std::string value;
  std::string expected;  // part of the message
};

TEST_F(SettingsTest, EveryBadValueIsRejectedWithNameFormAndValue) {
  const std::vector<BadValue> cases = {
      {"DB_POOL_SIZE", "abc", "whole number >= 1"},
      {"DB_POOL_SIZE", "0", "whole number >= 1"},
      {"DB_POOL_SIZE", "-3", "whole number >= 1"},
      {"DB_POOL_SIZE", "2.5", "whole number >= 1"},
      {"DB_POOL_SIZE", "1e3", "whole number >= 1"},
      {"DB_POOL_SIZE", "0x10", "whole number >= 1"},
      {"DB_POOL_SIZE", "99999999999", "whole number >= 1"},
      {"DB_POOL_SIZE", "1_000", "whole number >= 1"},
      {"DB_MAX_OVERFLOW", "-2", "whole number >= -1"},
      {"DB_MAX_OVERFLOW", "many", "whole number >= -1"},
      {"DB_POOL_TIMEOUT", "0", "number of seconds > 0"},
      {"DB_POOL_TIMEOUT", "-1", "number of seconds > 0"},
      {"DB_POOL_TIMEOUT", "abc", "number of seconds > 0"},
      {"DB_POOL_TIMEOUT", "nan", "number of seconds > 0"},
      {"DB_POOL_TIMEOUT", "inf", "number of seconds > 0"},
      {"DB_POOL_TIMEOUT", "100000", "<= 86400"},
      {"DB_POOL_TIMEOUT", "30s", "number of seconds > 0"},
      {"DB_POOL_RECYCLE", "-2", "or -1 to never recycle"},
      {"DB_POOL_RECYCLE", "1.5", "or -1 to never recycle"},
      {"DB_POOL_PRE_PING", "maybe", "true or false"},
      {"DB_POOL_PRE_PING_IDLE", "-1", "whole number of seconds >= 0"},
      {"DB_ECHO", "2", "true or false"},
      {"DB_BUSY_TIMEOUT_MS", "-5", "milliseconds >= 0"},
      {"DB_CONNECT_TIMEOUT", "0", "number of seconds > 0"},
      {"EMBEDDING_PROVIDER", "cohere", "ollama or openai-compatible"},
      {"OLLAMA_BASE_URL", "localhost:11434", "http:// or https:// URL"},
      {"OLLAMA_BASE_URL", "ftp://localhost", "http:// or https:// URL"},
      {"OLLAMA_BASE_URL", "http://", "http:// or https:// URL"},
      {"OPENAI_BASE_URL", "api.openai.com/v1", "http:// or https:// URL"},
      {"OPENAI_BASE_URL", "https://api.openai.com/ v1", "http:// or https:// URL"},
      {"EMBED_TIMEOUT", "0", "number of seconds > 0"},
      {"EMBED_MAX_RETRIES", "-1", "from 0 to 100"},
      {"EMBED_MAX_RETRIES", "101", "from 0 to 100"},
      {"EMBED_BATCH_SIZE", "0", "from 1 to 2048"},
      {"EMBED_BATCH_SIZE", "5000", "from 1 to 2048"},
      {"MEMORY_RETRIEVAL_COUNT", "0", "whole number >= 1"},
      {"DB_URL", "oracle://scott@localhost/orcl", "unsupported database"},
  };
  for (const BadValue& bad : cases) {
    const std::string message = error_of({{bad.name, bad.value}});
    EXPECT_TRUE(message.starts_with(bad.name + " ")) << message;
    EXPECT_TRUE(contains(message, bad.expected)) << bad.name << "=" << bad.value << ": " << message;
    EXPECT_TRUE(contains(message, "'" + bad.value + "'")) << message;
  }
}

TEST_F(SettingsTest, AcceptedValueForms) {
  for (const std::string yes : {"true", "TRUE", "1", "yes", "Yes", "on", "ON", "t", "y"}) {
    EXPECT_TRUE(load({{"DB_ECHO", yes}}).echo) << yes;
  }
  for (const std::string no : {"false", "False", "0", "no", "NO", "off", "Off", "f", "n"}) {
    EXPECT_FALSE(load({{"DB_POOL_PRE_PING", no}}).pool_pre_ping) << no;
  }
  EXPECT_EQ(load({{"DB_POOL_TIMEOUT", "+3"}}).pool_timeout_s, 3);
  EXPECT_EQ(load({{"DB_POOL_TIMEOUT", "0.25"}}).pool_timeout_s, 0.25);
  EXPECT_EQ(load({{"DB_CONNECT_TIMEOUT", "1e1"}}).connect_timeout_s, 10);
  EXPECT_EQ(load({{"DB_MAX_OVERFLOW", "-1"}}).max_overflow, -1);
  EXPECT_EQ(load({{"DB_MAX_OVERFLOW", "0"}}).max_overflow, 0);
  EXPECT_EQ(load({{"DB_POOL_RECYCLE", "0"}}).pool_recycle_s, 0);
  EXPECT_EQ(load({{"DB_POOL_SIZE", "+2"}}).pool_size, 2);
  EXPECT_EQ(load({{"DB_BUSY_TIMEOUT_MS", "0"}}).busy_timeout_ms, 0);
  EXPECT_EQ(load({{"EMBED_BATCH_SIZE", "2048"}}).embed_batch_size, 2048);
  EXPECT_EQ(load({{"EMBEDDING_PROVIDER", "OpenAI-Compatible"}}).embedding_provider,
            EmbeddingProvider::openai_compatible);
  EXPECT_EQ(load({{"EMBEDDING_PROVIDER", "openai_compatible"}}).embedding_provider,
            EmbeddingProvider::openai_compatible);
  EXPECT_EQ(load({{"EMBEDDING_PROVIDER", "Ollama"}}).embedding_provider, EmbeddingProvider::ollama);
  EXPECT_EQ(load({{"OLLAMA_BASE_URL", "http://gpu-box:11434/"}}).ollama_base_url, "http://gpu-box:11434");
  EXPECT_EQ(load({{"OPENAI_BASE_URL", "HTTPS://llm.local/v1//"}}).openai_base_url, "HTTPS://llm.local/v1");
}

TEST_F(SettingsTest, RelativePathsResolveAgainstTheWorkingDirectory) {
  const Settings settings = load({{"LUNA_DATA_DIR", "state/./x/../data/"},
                                  {"CHROMA_PATH", "data/chroma"},
                                  {"LUNADB_MIGRATIONS_DIR", "mig"}});
  EXPECT_EQ(settings.data_dir, dir_.path() / "state" / "data");
  EXPECT_EQ(settings.db_path, dir_.path() / "state" / "data" / "luna.db");
  EXPECT_EQ(settings.chroma_path, dir_.path() / "data" / "chroma");  // not relative to LUNA_DATA_DIR
  EXPECT_EQ(settings.migrations_dir, dir_.path() / "mig");
  EXPECT_TRUE(settings.db_path.is_absolute());
}

TEST_F(SettingsTest, SeedExamplesNameTheDefaults) {
  const Settings seed = load({{"DB_PATH", "data/luna.db"}, {"CHROMA_PATH", "data/chroma"}});
  const Settings defaults = load();
  EXPECT_EQ(seed.db_path, defaults.db_path);
  EXPECT_EQ(seed.chroma_path, defaults.chroma_path);
}

TEST_F(SettingsTest, AbsolutePathsAreKept) {
  const Settings settings = load({{"DB_PATH", "/var/lib/luna//luna.db"}, {"LUNA_DATA_DIR", "/srv/luna"}});
  EXPECT_EQ(settings.db_path, fs::path("/var/lib/luna/luna.db"));
  EXPECT_EQ(settings.chroma_path, fs::path("/srv/luna/chroma"));
}

TEST_F(SettingsTest, SqliteUrlSetsTheDatabasePath) {
  const Settings relative = load({{"DB_URL", "sqlite:///db/luna.db"}, {"DB_PATH", "ignored.db"}});
  EXPECT_EQ(relative.db_path, dir_.path() / "db" / "luna.db");
  EXPECT_EQ(relative.db.database, (dir_.path() / "db" / "luna.db").string());
  const Settings absolute = load({{"DB_URL", "sqlite:////tmp/x/../luna.db"}});
  EXPECT_EQ(absolute.db_path, fs::path("/tmp/luna.db"));
  for (const std::string memory : {"sqlite://", "sqlite:///:memory:"}) {
    const Settings in_memory = load({{"DB_URL", memory}});
    EXPECT_TRUE(in_memory.db.sqlite_in_memory()) << memory;
    EXPECT_EQ(in_memory.db_path, fs::path()) << memory;
  }
}

TEST_F(SettingsTest, DefaultWorkingDirectoryIsTheCurrentDirectory) {
  const fs::path previous = fs::current_path();
  fs::current_path(dir_.path());
  Settings settings;
  try {
    settings = load_settings({{"LUNA_DATA_DIR", "here"}});
  } catch (...) {
    fs::current_path(previous);
    throw;
  }
  fs::current_path(previous);
  EXPECT_EQ(settings.data_dir, fs::canonical(dir_.path()) / "here");
}

TEST_F(SettingsTest, DbUrlErrorsNameTheSourceAndHideThePassword) {
  write_env("DB_URL=postgresql://luna:Tig3rPass@localhost:99999/luna\n");
  const std::string message = error_of();
  EXPECT_TRUE(contains(message, "DB_URL has an invalid port")) << message;
  EXPECT_TRUE(contains(message, "line 1")) << message;
  EXPECT_FALSE(contains(message, "Tig3rPass")) << message;
}

TEST_F(SettingsTest, ApiKeyIsNeverEchoed) {
  const std::string message = error_of({{"OPENAI_API_KEY", "sk-abc def"}});
  EXPECT_TRUE(contains(message, "OPENAI_API_KEY")) << message;
  EXPECT_FALSE(contains(message, "sk-abc")) << message;
  const std::string newline = error_of({{"OPENAI_API_KEY", "sk-abc\r\nX-Injected: 1"}});
  EXPECT_FALSE(contains(newline, "sk-abc")) << newline;
}

TEST_F(SettingsTest, BaseUrlErrorsHideCredentials) {
  const std::string message = error_of({{"OPENAI_BASE_URL", "ftp://user:hunter2@llm.local/v1"}});
  EXPECT_FALSE(contains(message, "hunter2")) << message;
  EXPECT_TRUE(contains(message, "ftp://***@llm.local/v1")) << message;
}

TEST_F(SettingsTest, DescribeListsEverySettingInOrderWithSecretsHidden) {
  const Settings settings = load({{"DB_URL", "postgresql://luna:Tig3rPass@localhost/luna"},
                                  {"OPENAI_API_KEY", "sk-secret-key"},
                                  {"DB_POOL_TIMEOUT", "2.5"}});
  const auto described = settings.describe();
  std::vector<std::string> names;
  for (const auto& [name, value] : described) {
    names.push_back(name);
    EXPECT_FALSE(contains(value, "Tig3rPass")) << name;
    EXPECT_FALSE(contains(value, "sk-secret")) << name;
  }
  EXPECT_EQ(names, kAllNames);
  EXPECT_EQ(value_in(settings, "DB_URL"), "postgresql://luna:***@localhost/luna");
  EXPECT_EQ(value_in(settings, "OPENAI_API_KEY"), "***");
  EXPECT_EQ(value_in(settings, "DB_POOL_TIMEOUT"), "2.5");
  EXPECT_EQ(value_in(settings, "DB_POOL_SIZE"), "10");
  EXPECT_EQ(value_in(settings, "DB_ECHO"), "false");
  EXPECT_EQ(value_in(settings, "EMBEDDING_PROVIDER"), "ollama");
  EXPECT_EQ(value_in(settings, "DB_PATH"), (dir_.path() / "data" / "luna.db").string());
  EXPECT_EQ(value_in(settings, "LUNADB_MIGRATIONS_DIR"), "");
}

TEST_F(SettingsTest, DescribeWithDefaults) {
  const Settings settings = load();
  EXPECT_EQ(value_in(settings, "DB_URL"), "");
  EXPECT_EQ(value_in(settings, "OPENAI_API_KEY"), "");
  EXPECT_EQ(value_in(settings, "DB_POOL_TIMEOUT"), "30");
  EXPECT_EQ(value_in(settings, "EMBED_TIMEOUT"), "30");
  EXPECT_EQ(value_in(settings, "DB_POOL_PRE_PING"), "true");
}

TEST_F(SettingsTest, DescribeMasksOdbcPassword) {
  const Settings settings =
      load({{"DB_URL",
             "mssql+pyodbc:///?odbc_connect=DRIVER%3DFreeTDS%3BSERVER%3Dh%3BUID%3Dsa%3BPWD%3DHunter2Pw"}});
  EXPECT_FALSE(contains(value_in(settings, "DB_URL"), "Hunter2Pw")) << value_in(settings, "DB_URL");
}

}  // namespace
}  // namespace lunadb

namespace lunadb {
namespace {

TEST_F(SettingsTest, VectorBackendDefaultsToEmbedded) {
  const Settings settings = load({{"DB_URL", "postgresql://luna@db.local/luna"}});
  EXPECT_EQ(settings.vector_backend, VectorBackend::embedded);
  EXPECT_EQ(value_in(settings, "VECTOR_BACKEND"), "embedded");
  EXPECT_EQ(value_in(settings, "VECTOR_URL"), "");
}

TEST_F(SettingsTest, PgvectorUsesVectorUrlElsePostgresDbUrl) {
  const Settings own = load({{"VECTOR_BACKEND", "PgVector"}, {"VECTOR_URL", "postgresql://v:Vec7orPass@vectors.local:5433/v"}});
  EXPECT_EQ(own.vector_backend, VectorBackend::pgvector);
  EXPECT_EQ(own.vector_db.host, "vectors.local");
  EXPECT_EQ(own.vector_db.port, 5433);
  EXPECT_EQ(value_in(own, "VECTOR_URL"), "postgresql://v:***@vectors.local:5433/v");
  for (const auto& [name, value] : own.describe()) EXPECT_FALSE(contains(value, "Vec7orPass")) << name;

  const Settings shared = load({{"VECTOR_BACKEND", "pgvector"}, {"DB_URL", "postgresql+psycopg2://luna:pw@db.local/luna"}});
  EXPECT_EQ(shared.vector_db.host, "db.local");
  EXPECT_EQ(shared.vector_db.database, "luna");
}

TEST_F(SettingsTest, PgvectorSettingsErrors) {
  EXPECT_TRUE(contains(error_of({{"VECTOR_BACKEND", "chroma"}}), "VECTOR_BACKEND must be embedded or pgvector"));
  EXPECT_TRUE(contains(error_of({{"VECTOR_PG_TYPE", "float8"}}), "VECTOR_PG_TYPE must be vector or halfvec"));
  EXPECT_TRUE(load({{"VECTOR_PG_TYPE", "HalfVec"}}).vector_halfvec);
  EXPECT_TRUE(contains(error_of({{"VECTOR_BACKEND", "pgvector"}}), "needs VECTOR_URL"));
  const std::string message = error_of({{"VECTOR_BACKEND", "pgvector"}, {"VECTOR_URL", "mysql://u:Secr3tPw@h/db"}});
  EXPECT_TRUE(contains(message, "VECTOR_URL must be a PostgreSQL URL")) << message;
  EXPECT_FALSE(contains(message, "Secr3tPw")) << message;
}

}  // namespace
}  // namespace lunadb
