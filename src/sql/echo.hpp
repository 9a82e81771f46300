#pragma once
// DB_ECHO: a Connection decorator that logs every statement to stderr with its duration. Bound
// values are shown only as describe_type() ("text(12 bytes)"), never the value, so secrets and
// personal data stay out of logs. Wraps any backend.
//
// Thread-safety: as the wrapped connection (one thread at a time); lines from several
// connections are written whole, not interleaved.

#include <functional>
#include <memory>
#include <string>

#include "sql/driver.hpp"

namespace lunadb::sql {

// Where echo lines go: stderr by default. Tests swap it; returns the previous sink.
using EchoSink = std::function<void(const std::string& line)>;
EchoSink set_echo_sink(EchoSink sink);

std::unique_ptr<Connection> make_echo_connection(std::unique_ptr<Connection> inner);

}  // namespace lunadb::sql
