#include "support/revisions.hpp"

#include <stdexcept>

#include "lunadb/config.hpp"
#include "lunadb/migrate.hpp"

namespace lunadb::test {

std::string head_revision() {
  Settings settings;  // defaults: embedded revisions; heads() opens no database
  migrate::Migrator migrator(settings);
  auto heads = migrator.heads();
  if (heads.size() != 1) throw std::runtime_error("expected one head revision");
  return heads.front();
}

}  // namespace lunadb::test
