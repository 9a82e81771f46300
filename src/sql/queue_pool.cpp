// Placeholder until the QueuePool lands.
#include "lunadb/error.hpp"
#include "sql/backends.hpp"

namespace lunadb::sql {

std::unique_ptr<ConnectionSource> make_queue_pool(const Settings& settings) {
  throw Error(ErrorKind::unsupported, std::string("backend not available yet: ") + to_string(settings.db.backend));
}

}  // namespace lunadb::sql
