#include "cli/status.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <string>

#include "lunadb/migrate.hpp"
#include "schema/model.hpp"
#include "sql/dialect.hpp"
#include "sql/driver.hpp"

namespace lunadb::cli {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

void print_status(const Settings& settings, std::ostream& out) {
  const DbUrl& url = settings.db;
  out << fmt::format("{:<10} {}\n", "backend", to_string(url.backend));
  if (url.backend == Backend::sqlite) {
    out << fmt::format("{:<10} {}\n", "database", url.sqlite_in_memory() ? ":memory:" : settings.db_path.string());
    if (!url.sqlite_in_memory() && !std::filesystem::exists(settings.db_path)) {
      out << fmt::format("{:<10} {}\n", "revision", "none (the file does not exist yet; run `lunadb upgrade head`)");
      return;
    }
  } else {
    out << fmt::format("{:<10} {}\n", "database", url.redacted());
  }

  migrate::Migrator migrator(settings);
  std::vector<std::string> heads = migrator.heads();
  std::vector<std::string> current = migrator.current();
  std::string state;
  if (current.empty()) {
    const migrate::Adoption adoption = migrator.inspect_adoption();
    using State = migrate::Adoption::State;
    if (adoption.state == State::adoptable) {
      state = fmt::format("none recorded: Luna's create_all() made this database; it matches revision {} "
                          "(`lunadb adopt`, or `lunadb upgrade head`, which adopts it first)",
                          adoption.revision);
    } else if (adoption.state == State::mismatch) {
      state = "none recorded: Luna's tables are here but differ from Luna's schema (`lunadb adopt --dry-run` lists how)";
    } else {
      state = "base (no tables)";
    }
  } else {
    state = join(current) + (current == heads ? " (head)" : fmt::format(" (behind head {})", join(heads)));
  }
  out << fmt::format("{:<10} {}\n", "revision", state);

  auto connection = sql::open_connection(url, sql::connect_options_from(settings));
  const sql::Dialect& dialect = connection->dialect();
  out << "rows per table:\n";
  for (const schema::Table& table : schema::luna_schema().tables) {
    if (!dialect.table_exists(*connection, table.name)) {
      out << fmt::format("  {:<22} (missing)\n", table.name);
      continue;
    }
    auto statement = connection->prepare("SELECT COUNT(*) FROM " + dialect.quote(table.name));
    std::int64_t rows = statement->step() ? statement->get_int64(0) : 0;
    out << fmt::format("  {:<22} {}\n", table.name, rows);
  }
}

}  // namespace lunadb::cli
