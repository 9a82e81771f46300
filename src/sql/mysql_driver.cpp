// Placeholder until the mysql driver lands: the URL parses, the backend is not built yet.
#include "lunadb/error.hpp"
#include "sql/backends.hpp"

namespace lunadb::sql {

std::unique_ptr<Connection> open_mysql_connection(const DbUrl& url, const ConnectOptions&) {
  throw Error(ErrorKind::unsupported, std::string("backend not available yet: ") + to_string(url.backend) +
                                          " (DB_URL " + url.redacted() + ")");
}

}  // namespace lunadb::sql
