#include "lunadb/error.hpp"

namespace lunadb {

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::config: return "configuration error";
    case ErrorKind::usage: return "usage error";
    case ErrorKind::connection: return "connection error";
    case ErrorKind::constraint: return "constraint violation";
    case ErrorKind::busy: return "database busy";
    case ErrorKind::pool_timeout: return "pool timeout";
    case ErrorKind::not_found: return "not found";
    case ErrorKind::corrupt: return "corrupt file";
    case ErrorKind::migration: return "migration error";
    case ErrorKind::invalid_argument: return "invalid argument";
    case ErrorKind::unsupported: return "unsupported";
    case ErrorKind::embedding: return "embedding error";
    case ErrorKind::io: return "i/o error";
    case ErrorKind::internal: return "internal error";
  }
  return "error";
}

}  // namespace lunadb
