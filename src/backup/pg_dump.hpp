#pragma once
// `lunadb backup --native` on PostgreSQL: the server's own pg_dump, run on the same snapshot as
// lunadb's logical dump, and pg_restore --list to check such a file.

#include <filesystem>
#include <optional>
#include <string>

#include "lunadb/config.hpp"

namespace lunadb::backup::detail {

// The program's path when it is on PATH (and executable).
std::optional<std::filesystem::path> find_on_path(const std::string& program);

// `pg_dump --format=custom` of `url`'s database as of `snapshot` (pg_export_snapshot() of a
// transaction the caller keeps open) into `file`, fsynced. The password travels in the child's
// environment (PGPASSWORD), never on its command line. Error(io) with pg_dump's own message.
void run_pg_dump(const std::filesystem::path& pg_dump, const DbUrl& url, const std::string& snapshot, const std::filesystem::path& file);

// `pg_restore --list FILE`: Error(corrupt) naming the file when pg_restore cannot read it.
void check_pg_dump_file(const std::filesystem::path& pg_restore, const std::filesystem::path& file);

}  // namespace lunadb::backup::detail
