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
  auto insert = connection.prepare(dialect.insert("personality_state", {"id", "updated_at"}, false));
  insert->bind(1, sql::Value{std::int64_t{1}});
  insert->bind(2, sql::Value{sql::now_utc()});
  insert->execute();
  transaction.commit();
}

}  // namespace lunadb::store
