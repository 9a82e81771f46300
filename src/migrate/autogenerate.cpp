#include "migrate/autogenerate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <random>

namespace lunadb::migrate {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Databases echo defaults back with their own parentheses and case: (0), '0', CURRENT_TIMESTAMP.
std::string normalise_default(std::string s) {
  auto trim = [](std::string& t) {
    auto first = t.find_first_not_of(" \t\n");
    auto last = t.find_last_not_of(" \t\n");
    t = first == std::string::npos ? std::string() : t.substr(first, last - first + 1);
  };
  trim(s);
  while (s.size() >= 2 && s.front() == '(' && s.back() == ')') {
    s = s.substr(1, s.size() - 2);
    trim(s);
  }
  return lower(s);
}

template <class Items>
const typename Items::value_type* named(const Items& items, const std::string& name) {
  for (auto& item : items)
    if (item.name == name) return &item;
  return nullptr;
}

class Differ {
 public:
  explicit Differ(const sql::Dialect& dialect) : dialect_(dialect) {}

  SchemaDiff run(const schema::Schema& live, const schema::Schema& model) {
    for (auto& table : model.tables)
      if (!live.find_table(table.name)) add(CreateTable{table}, DropTable{table.name});
    for (auto& table : model.tables)
      if (auto* existing = live.find_table(table.name)) compare_table(*existing, table);
    for (auto it = live.tables.rbegin(); it != live.tables.rend(); ++it)
      if (!model.find_table(it->name)) add(DropTable{it->name}, CreateTable{*it});
    SchemaDiff diff;
    for (auto& [up, down] : pairs_) {
      diff.differences.push_back(describe_operation(up));
      diff.upgrade.push_back({up, 0});
    }
    for (auto it = pairs_.rbegin(); it != pairs_.rend(); ++it) diff.downgrade.push_back({it->second, 0});
    return diff;
  }

 private:
  void add(Operation up, Operation down) { pairs_.emplace_back(std::move(up), std::move(down)); }

  bool same_type(const schema::ColumnType& a, const schema::ColumnType& b) const {
    return lower(dialect_.column_type(a)) == lower(dialect_.column_type(b));
  }
  bool same_default(const schema::DefaultValue& a, const schema::DefaultValue& b) const {
    if (a.index() == b.index() && a == b) return true;
    return normalise_default(dialect_.default_literal(a)) == normalise_default(dialect_.default_literal(b));
  }

  void compare_table(const schema::Table& live, const schema::Table& model) {
    const std::string& t = model.name;
    // Drops first, so a constraint being replaced frees its name before the new one comes.
    for (auto& fk : live.foreign_keys) {
      if (fk.name.empty()) continue;  // unnamed: cannot be addressed
      auto* wanted = named(model.foreign_keys, fk.name);
      if (!wanted || !(*wanted == fk)) add(DropForeignKey{t, fk.name}, AddForeignKey{t, fk});
    }
    for (auto& u : live.uniques) {
      if (u.name.empty()) continue;
      auto* wanted = named(model.uniques, u.name);
      if (!wanted || wanted->columns != u.columns) add(DropUnique{t, u.name}, AddUnique{t, u});
    }
    for (auto& c : live.checks) {
      if (c.name.empty()) continue;
      if (!named(model.checks, c.name)) add(DropCheck{t, c.name}, AddCheck{t, c});
    }
    for (auto& i : live.indexes) {
      if (i.name.empty()) continue;
      auto* wanted = named(model.indexes, i.name);
      if (!wanted || wanted->columns != i.columns || wanted->unique != i.unique) add(DropIndex{t, i.name}, CreateIndex{t, i});
    }
    for (auto& c : live.columns)
      if (!model.find_column(c.name)) add(DropColumn{t, c.name}, AddColumn{t, c});
    for (auto& c : model.columns)
      if (!live.find_column(c.name)) add(AddColumn{t, c}, DropColumn{t, c.name});
    for (auto& c : model.columns) {
      auto* existing = live.find_column(c.name);
      if (!existing) continue;
      AlterColumn up{t, c.name, {}, {}, {}};
      AlterColumn down{t, c.name, {}, {}, {}};
      if (!same_type(existing->type, c.type)) {
        up.type = c.type;
        down.type = existing->type;
      }
      if (existing->nullable != c.nullable) {
        up.nullable = c.nullable;
        down.nullable = existing->nullable;
      }
      if (!same_default(existing->default_value, c.default_value)) {
        up.default_value = c.default_value;
        down.default_value = existing->default_value;
      }
      if (up.type || up.nullable || up.default_value) add(up, down);
    }
    for (auto& c : model.checks)
      if (!named(live.checks, c.name)) add(AddCheck{t, c}, DropCheck{t, c.name});
    for (auto& u : model.uniques) {
      auto* existing = named(live.uniques, u.name);
      if (!existing || existing->columns != u.columns) add(AddUnique{t, u}, DropUnique{t, u.name});
    }
    for (auto& fk : model.foreign_keys) {
      auto* existing = named(live.foreign_keys, fk.name);
      if (!existing || !(*existing == fk)) add(AddForeignKey{t, fk}, DropForeignKey{t, fk.name});
    }
    for (auto& i : model.indexes) {
      auto* existing = named(live.indexes, i.name);
      if (!existing || existing->columns != i.columns || existing->unique != i.unique) add(CreateIndex{t, i}, DropIndex{t, i.name});
    }
  }

  const sql::Dialect& dialect_;
  std::vector<std::pair<Operation, Operation>> pairs_;
};

}  // namespace

SchemaDiff compare_schemas(const schema::Schema& live, const schema::Schema& model, const sql::Dialect& dialect) {
  return Differ(dialect).run(live, model);
}

std::string new_revision_id() {
  std::random_device random;
  std::uniform_int_distribution<int> digit(0, 15);
  std::string id;
  for (int i = 0; i < 12; ++i) id += "0123456789abcdef"[digit(random)];
  return id;
}

std::string slugify(std::string_view message) {
  std::string slug;
  for (char c : message) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      slug += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!slug.empty() && slug.back() != '_') {
      slug += '_';
    }
    if (slug.size() >= 40) break;
  }
  while (!slug.empty() && slug.back() == '_') slug.pop_back();
  return slug.empty() ? "revision" : slug;
}

}  // namespace lunadb::migrate
