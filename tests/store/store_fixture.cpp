#include "store_fixture.hpp"

#include "sql/dialect.hpp"
#include "store/schema_setup.hpp"
#include "support/servers.hpp"

namespace lunadb::store_test {

namespace {

StoreDatabase fresh_server_database(const std::string& server_url) {
  auto database = std::make_shared<test::FreshDatabase>(server_url);
  return {database->url(), database};
}

// The database is created through PostgreSQL directly (pgbouncer cannot CREATE DATABASE for a
// name it does not know yet: its auto-database entry `*` forwards any name), then used through
// pgbouncer in transaction mode.
StoreDatabase fresh_pgbouncer_database() {
  auto database = std::make_shared<test::FreshDatabase>(test::pg_url());
  DbUrl through_bouncer = test::with_database(test::parse_server_url(test::pgbouncer_url()), database->name());
  return {through_bouncer, database};
}

}  // namespace

std::vector<StoreBackend> store_backends() {
  return {
      StoreBackend{"sqlite", {},
                   [](const test::TempDir& scratch) {
                     DbUrl url;
                     url.backend = Backend::sqlite;
                     url.dialect = "sqlite";
                     url.database = (scratch / "luna.db").string();
                     return StoreDatabase{url, nullptr};
                   }},
      StoreBackend{"postgresql", test::pg_url, [](const test::TempDir&) { return fresh_server_database(test::pg_url()); }},
      StoreBackend{"mysql", test::mysql_url,
                   [](const test::TempDir&) { return fresh_server_database(test::mysql_url()); }},
      StoreBackend{"pgbouncer", test::pgbouncer_url, [](const test::TempDir&) { return fresh_pgbouncer_database(); }},
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
  if (GetParam().server_url) LUNADB_REQUIRE_SERVER(GetParam().server_url());
  database_ = GetParam().fresh_database(scratch_);
  url_ = database_.url;
  settings_ = settings_for(url_);
  source_ = sql::make_connection_source(settings_);
  create_schema(*source_);
  store_.emplace(*source_);
}

void StoreTest::TearDown() {
  store_.reset();
  if (source_) source_->dispose();
  source_.reset();
  database_ = {};
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
