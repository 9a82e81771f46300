#include "store_fixture.hpp"

#include "sql/dialect.hpp"
#include "store/schema_setup.hpp"

namespace lunadb::store_test {

std::vector<StoreBackend> store_backends() {
  return {
      StoreBackend{"sqlite",
                   [](const test::TempDir& scratch) {
                     DbUrl url;
                     url.backend = Backend::sqlite;
                     url.dialect = "sqlite";
                     url.database = (scratch / "luna.db").string();
                     return url;
                   }},
  };
}

Settings settings_for(const DbUrl& url) {
  Settings settings;
  settings.db = url;
  if (url.backend == Backend::sqlite) settings.db_path = url.database;
  settings.busy_timeout_ms = 10000;
  return settings;
}

void create_schema(sql::ConnectionSource& source) {
  auto lease = source.acquire();
  store::create_schema_directly(*lease);
}

void StoreTest::SetUp() {
  url_ = GetParam().fresh_database(scratch_);
  settings_ = settings_for(url_);
  source_ = sql::make_connection_source(settings_);
  create_schema(*source_);
  store_.emplace(*source_);
}

void StoreTest::TearDown() {
  store_.reset();
  if (source_) source_->dispose();
  source_.reset();
}

std::int64_t StoreTest::count_rows(const std::string& table, const std::string& where) {
  auto lease = raw();
  const auto& dialect = lease->dialect();
  auto statement =
      lease->prepare("SELECT COUNT(*) FROM " + dialect.quote(table) + (where.empty() ? "" : " WHERE " + where));
  if (!statement->step()) throw Error(ErrorKind::internal, "COUNT(*) returned no row");
  return statement->get_int64(0);
}

std::string StoreTest::q(std::string_view identifier) const {
  return sql::dialect_for(url_.backend).quote(identifier);
}

std::string backend_name(const ::testing::TestParamInfo<StoreBackend>& info) { return info.param.name; }

}  // namespace lunadb::store_test
