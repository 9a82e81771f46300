#include "migrate/operations.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "lunadb/error.hpp"

namespace lunadb::migrate {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

template <class Container, class Name>
auto find_named(Container& items, const Name& name) {
  return std::find_if(items.begin(), items.end(), [&](auto& item) { return item.name == name; });
}

bool mentions(const std::vector<std::string>& columns, const std::string& column) {
  return std::find(columns.begin(), columns.end(), column) != columns.end();
}

class Renderer {
 public:
  Renderer(const LocatedOperation& op, const Revision& revision, schema::Schema& state, const sql::Dialect& dialect)
      : op_(op), revision_(revision), state_(state), dialect_(dialect) {}

  std::vector<std::string> operator()(const CreateTable& op) {
    if (state_.find_table(op.table.name)) fail(fmt::format("table {} already exists", op.table.name));
    state_.tables.push_back(op.table);
    return dialect_.create_table(op.table);
  }

  std::vector<std::string> operator()(const DropTable& op) {
    auto it = table_iterator(op.table);
    auto statements = dialect_.drop_table(*it);
    state_.tables.erase(it);
    return statements;
  }

  std::vector<std::string> operator()(const AddColumn& op) {
    schema::Table& table = *table_iterator(op.table);
    if (table.find_column(op.column.name)) fail(fmt::format("column {}.{} already exists", op.table, op.column.name));
    schema::Table after = table;
    after.columns.push_back(op.column);
    // SQLite's ADD COLUMN refuses NOT NULL without a default and non-constant defaults.
    bool rebuild = dialect_.backend() == Backend::sqlite &&
                   ((!op.column.nullable && std::holds_alternative<std::monostate>(op.column.default_value)) ||
                    std::holds_alternative<schema::CurrentTimestamp>(op.column.default_value));
    auto statements = rebuild ? dialect_.alter_table(table, after) : dialect_.add_column(table, op.column);
    table = std::move(after);
    return statements;
  }

  std::vector<std::string> operator()(const DropColumn& op) {
    schema::Table& table = *table_iterator(op.table);
    auto column = find_named(table.columns, op.column);
    if (column == table.columns.end()) fail(fmt::format("table {} has no column {}", op.table, op.column));
    if (mentions(table.primary_key, op.column)) fail(fmt::format("column {}.{} is part of the primary key", op.table, op.column));
    schema::Table after = table;
    after.columns.erase(after.columns.begin() + (column - table.columns.begin()));
    bool constrained = false;
    auto prune = [&](auto& items, auto columns_of) {
      auto end = std::remove_if(items.begin(), items.end(), [&](auto& item) { return mentions(columns_of(item), op.column); });
      constrained |= end != items.end();
      items.erase(end, items.end());
    };
    prune(after.indexes, [](const schema::Index& i) { return i.columns; });
    prune(after.uniques, [](const schema::UniqueConstraint& u) { return u.columns; });
    prune(after.foreign_keys, [](const schema::ForeignKey& f) { return f.columns; });
    // A check mentioning the column would break; the revision must drop it first.
    for (auto& check : after.checks)
      if (check.expression.find("{" + op.column + "}") != std::string::npos)
        fail(fmt::format("column {}.{} is used by check constraint {}; drop_check it first", op.table, op.column, check.name));
    // SQLite's DROP COLUMN refuses indexed, unique and foreign-key columns: rebuild instead.
    auto statements = (constrained && dialect_.backend() == Backend::sqlite) ? dialect_.alter_table(table, after)
                                                                            : dialect_.drop_column(table, *column);
    table = std::move(after);
    return statements;
  }

  std::vector<std::string> operator()(const AlterColumn& op) {
    return alter(op.table, [&](schema::Table& t) {
      auto column = find_named(t.columns, op.column);
      if (column == t.columns.end()) fail(fmt::format("table {} has no column {}", op.table, op.column));
      if (op.type) column->type = *op.type;
      if (op.nullable) column->nullable = *op.nullable;
      if (op.default_value) column->default_value = *op.default_value;
    });
  }

  std::vector<std::string> operator()(const CreateIndex& op) {
    schema::Table& table = *table_iterator(op.table);
    if (find_named(table.indexes, op.index.name) != table.indexes.end()) fail(fmt::format("index {} already exists", op.index.name));
    require_columns(table, op.index.columns);
    auto statements = dialect_.create_index(table, op.index);
    table.indexes.push_back(op.index);
    return statements;
  }

  std::vector<std::string> operator()(const DropIndex& op) {
    schema::Table& table = *table_iterator(op.table);
    auto index = find_named(table.indexes, op.name);
    if (index == table.indexes.end()) fail(fmt::format("table {} has no index {}", op.table, op.name));
    auto statements = dialect_.drop_index(table, *index);
    table.indexes.erase(index);
    return statements;
  }

  std::vector<std::string> operator()(const AddUnique& op) {
    return alter(op.table, [&](schema::Table& t) {
      if (find_named(t.uniques, op.unique.name) != t.uniques.end()) fail(fmt::format("unique constraint {} already exists", op.unique.name));
      require_columns(t, op.unique.columns);
      t.uniques.push_back(op.unique);
    });
  }
  std::vector<std::string> operator()(const DropUnique& op) {
    return alter(op.table, [&](schema::Table& t) { erase_named(t.uniques, op.name, "unique constraint"); });
  }
  std::vector<std::string> operator()(const AddCheck& op) {
    return alter(op.table, [&](schema::Table& t) {
      if (find_named(t.checks, op.check.name) != t.checks.end()) fail(fmt::format("check constraint {} already exists", op.check.name));
      t.checks.push_back(op.check);
    });
  }
  std::vector<std::string> operator()(const DropCheck& op) {
    return alter(op.table, [&](schema::Table& t) { erase_named(t.checks, op.name, "check constraint"); });
  }
  std::vector<std::string> operator()(const AddForeignKey& op) {
    return alter(op.table, [&](schema::Table& t) {
      if (find_named(t.foreign_keys, op.foreign_key.name) != t.foreign_keys.end())
        fail(fmt::format("foreign key {} already exists", op.foreign_key.name));
      require_columns(t, op.foreign_key.columns);
      t.foreign_keys.push_back(op.foreign_key);
    });
  }
  std::vector<std::string> operator()(const DropForeignKey& op) {
    return alter(op.table, [&](schema::Table& t) { erase_named(t.foreign_keys, op.name, "foreign key"); });
  }

  std::vector<std::string> operator()(const InsertRows& op) {
    const schema::Table& table = *table_iterator(op.table);
    require_columns(table, op.columns);
    std::string sql = "INSERT INTO " + dialect_.quote(op.table) + " (";
    for (std::size_t i = 0; i < op.columns.size(); ++i) sql += (i ? ", " : "") + dialect_.quote(op.columns[i]);
    sql += ") VALUES ";
    for (std::size_t r = 0; r < op.rows.size(); ++r) {
      sql += r ? ", (" : "(";
      for (std::size_t i = 0; i < op.rows[r].size(); ++i) sql += (i ? ", " : "") + dialect_.literal(op.rows[r][i]);
      sql += ")";
    }
    return {sql};
  }

  std::vector<std::string> operator()(const RawSql& op) {
    if (std::find(op.backends.begin(), op.backends.end(), dialect_.backend()) == op.backends.end()) return {};
    return {op.sql};
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw Error(ErrorKind::migration, fmt::format("{}:{}: revision {}: {}", revision_.source, op_.line, revision_.id, message));
  }

  std::vector<schema::Table>::iterator table_iterator(const std::string& name) {
    auto it = find_named(state_.tables, name);
    if (it == state_.tables.end()) fail(fmt::format("table {} does not exist at this point", name));
    return it;
  }

  void require_columns(const schema::Table& table, const std::vector<std::string>& columns) const {
    for (auto& c : columns)
      if (!table.find_column(c)) fail(fmt::format("table {} has no column {}", table.name, c));
  }

  template <class Items>
  void erase_named(Items& items, const std::string& name, std::string_view what) const {
    auto it = find_named(items, name);
    if (it == items.end()) fail(fmt::format("there is no {} named {}", what, name));
    items.erase(it);
  }

  template <class Change>
  std::vector<std::string> alter(const std::string& table_name, Change change) {
    schema::Table& table = *table_iterator(table_name);
    schema::Table after = table;
    change(after);
    auto statements = dialect_.alter_table(table, after);
    table = std::move(after);
    return statements;
  }

  const LocatedOperation& op_;
  const Revision& revision_;
  schema::Schema& state_;
  const sql::Dialect& dialect_;
};

}  // namespace

std::vector<std::string> render_operation(const LocatedOperation& op, const Revision& revision, schema::Schema& state,
                                          const sql::Dialect& dialect) {
  return std::visit(Renderer(op, revision, state, dialect), op.operation);
}

std::string create_version_table_sql() {
  return "CREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)";
}

std::string drop_version_table_sql() { return "DROP TABLE alembic_version"; }

}  // namespace lunadb::migrate
