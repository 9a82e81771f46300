#pragma once
// What the benchmarks share. They build their own settings rather than reading the user's .env,
// so that a benchmark never writes into the user's data.

#include <filesystem>

#include "lunadb/config.hpp"

namespace lunadb::cli {

// Settings naming one SQLite file as the database (DB_URL empty, DB_PATH = file), defaults
// otherwise.
inline Settings sqlite_file_settings(const std::filesystem::path& file) {
  Settings settings;
  settings.db.backend = Backend::sqlite;
  settings.db.dialect = "sqlite";
  settings.db.database = file.string();
  settings.db_path = file;
  return settings;
}

}  // namespace lunadb::cli
