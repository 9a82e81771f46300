// open_connection(): the dispatch from a parsed DB_URL to the backend's driver.
#include "lunadb/error.hpp"
#include "sql/backends.hpp"
#include "sql/echo.hpp"

namespace lunadb::sql {

ConnectOptions connect_options_from(const Settings& settings) {
  ConnectOptions options;
  options.busy_timeout_ms = settings.busy_timeout_ms;
  options.connect_timeout_s = settings.connect_timeout_s;
  options.echo = settings.echo;
  return options;
}

std::unique_ptr<Connection> open_connection(const DbUrl& url, const ConnectOptions& options) {
  std::unique_ptr<Connection> connection;
  switch (url.backend) {
    case Backend::sqlite: connection = open_sqlite_connection(url, options); break;
    case Backend::postgresql: connection = open_postgres_connection(url, options); break;
    case Backend::mysql: connection = open_mysql_connection(url, options); break;
    case Backend::mssql: connection = open_odbc_connection(url, options); break;
  }
  if (!connection) throw Error(ErrorKind::internal, "open_connection: unknown backend");
  if (options.echo) connection = make_echo_connection(std::move(connection));
  return connection;
}

}  // namespace lunadb::sql
