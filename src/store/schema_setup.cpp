#include "store/schema_setup.hpp"

#include "schema/model.hpp"
#include "sql/dialect.hpp"

namespace lunadb::store {

void create_schema_directly(sql::Connection& connection) {
  const auto& dialect = connection.dialect();
  sql::Transaction transaction(connection, sql::TransactionMode::write);
  for (const auto& table : schema::luna_schema().tables) {
    for (const auto& statement : dialect.create_table(table)) connection.execute(statement);
  }
  // personality_state.id is an identity column on SQL Server: an explicit 1 needs IDENTITY_INSERT.
  const bool identity_insert = dialect.backend() == Backend::mssql;
  if (identity_insert) connection.execute("SET IDENTITY_INSERT " + dialect.quote("personality_state") + " ON");
  auto insert = connection.prepare(dialect.insert("personality_state", {"id", "updated_at"}, false));
  insert->bind(1, sql::Value{std::int64_t{1}});
  insert->bind(2, sql::Value{sql::now_utc()});
  insert->execute();
  if (identity_insert) connection.execute("SET IDENTITY_INSERT " + dialect.quote("personality_state") + " OFF");
  transaction.commit();
}

void drop_schema_directly(sql::Connection& connection) {
  const auto& dialect = connection.dialect();
  const auto& tables = schema::luna_schema().tables;
  for (auto table = tables.rbegin(); table != tables.rend(); ++table) {
    if (!dialect.table_exists(connection, table->name)) continue;
    for (const auto& statement : dialect.drop_table(*table)) connection.execute(statement);
  }
}

}  // namespace lunadb::store
