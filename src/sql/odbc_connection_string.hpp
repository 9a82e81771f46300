#pragma once
// The ODBC connection string for an mssql DB_URL (docs/sqlserver.md):
//   mssql+pyodbc://user:pass@server:1433/db?driver=ODBC+Driver+18+for+SQL+Server&Encrypt=yes
//     -> DRIVER={ODBC Driver 18 for SQL Server};SERVER=server,1433;DATABASE=db;UID=user;PWD={pass};Encrypt=yes
//   mssql+pyodbc:///?odbc_connect=<percent-encoded string>   -> the string as is
// Every other query key is passed through as KEY=value, as SQLAlchemy's pyodbc dialect does.
//
// Thread-safety: pure functions.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lunadb/config.hpp"

namespace lunadb::sql::odbc {

// Throws Error(config) naming DB_URL when neither `driver` nor `odbc_connect` is given.
std::string connection_string_for(const DbUrl& url);

// `value` as an ODBC attribute value: wrapped in braces (with '}' doubled) when it holds ';', '{',
// '}', '=' or leading/trailing spaces, as is otherwise.
std::string quote_attribute_value(std::string_view value);

// KEY=value pairs of a connection string, braces understood and removed; keys as written.
std::vector<std::pair<std::string, std::string>> parse_connection_string(std::string_view connection_string);

// The value of `key` (case-insensitive), or "" when absent.
std::string attribute(std::string_view connection_string, std::string_view key);

// The connection string with the values of PWD, Password and any *secret* / *token* attribute
// replaced by ***: the only form of it that may appear in a log or an error.
std::string redact_connection_string(std::string_view connection_string);

// True when the DRIVER names FreeTDS (by name or by its library libtdsodbc).
bool is_freetds(std::string_view driver);

}  // namespace lunadb::sql::odbc
