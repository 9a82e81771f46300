#pragma once
// Entry points of the individual backends, called by open_connection() and
// make_connection_source(). Each is implemented in its backend's own files.

#include <memory>

#include "lunadb/config.hpp"
#include "sql/driver.hpp"
#include "sql/pool.hpp"

namespace lunadb::sql {

std::unique_ptr<Connection> open_sqlite_connection(const DbUrl& url, const ConnectOptions& options);    // sqlite_driver.cpp
std::unique_ptr<Connection> open_postgres_connection(const DbUrl& url, const ConnectOptions& options);  // postgres_driver.cpp
std::unique_ptr<Connection> open_mysql_connection(const DbUrl& url, const ConnectOptions& options);     // mysql_driver.cpp
std::unique_ptr<Connection> open_odbc_connection(const DbUrl& url, const ConnectOptions& options);      // odbc_driver.cpp

// The QueuePool for server backends (queue_pool.cpp).
std::unique_ptr<ConnectionSource> make_queue_pool(const Settings& settings);

}  // namespace lunadb::sql
