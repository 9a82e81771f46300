#pragma once

#include <ostream>

#include "lunadb/config.hpp"

namespace lunadb::cli {

// Writes the status report; creates nothing (a missing SQLite file is reported as such).
void print_status(const Settings& settings, std::ostream& out);

}  // namespace lunadb::cli
