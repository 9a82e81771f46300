// DB_URL parsing with SQLAlchemy's grammar. The user-info split follows SQLAlchemy's rules (a
// password may hold raw ':', '/' and '?'), with one leniency: a raw '@' inside the password is
// accepted as long as the host that follows contains no '@' (SQLAlchemy would fail on it later).
// Nothing in an error message can reveal a password: messages show the URL with the password
// replaced, and hide the URL entirely when the user-info could not be located.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "config/text.hpp"
#include "lunadb/config.hpp"
#include "lunadb/error.hpp"

namespace lunadb {

using config_detail::iequals;
using config_detail::percent_decode;
using config_detail::percent_encode;
using config_detail::to_lower;

const char* to_string(Backend backend) noexcept {
  switch (backend) {
    case Backend::sqlite: return "sqlite";
    case Backend::postgresql: return "postgresql";
    case Backend::mysql: return "mysql";
    case Backend::mssql: return "mssql";
  }
  return "unknown";
}

namespace {

struct DialectName {
  std::string_view name;
  Backend backend;
};

constexpr std::array<DialectName, 6> kDialects{{
    {"postgresql", Backend::postgresql},
    {"postgres", Backend::postgresql},
    {"mysql", Backend::mysql},
    {"mariadb", Backend::mysql},
    {"mssql", Backend::mssql},
    {"sqlite", Backend::sqlite},
}};

constexpr std::array<std::string_view, 5> kPostgresDrivers{"psycopg2", "psycopg", "psycopg2cffi", "asyncpg",
                                                           "pg8000"};
constexpr std::array<std::string_view, 6> kMysqlDrivers{"pymysql",          "mysqldb",  "mysqlconnector",
                                                        "mariadbconnector", "aiomysql", "asyncmy"};
constexpr std::array<std::string_view, 3> kMssqlDrivers{"pyodbc", "aioodbc", "pymssql"};
constexpr std::array<std::string_view, 2> kSqliteDrivers{"pysqlite", "aiosqlite"};

template <std::size_t N>
std::string join(const std::array<std::string_view, N>& names) {
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string accepted_drivers(Backend backend) {
  switch (backend) {
    case Backend::postgresql: return join(kPostgresDrivers);
    case Backend::mysql: return join(kMysqlDrivers);
    case Backend::mssql: return join(kMssqlDrivers);
    case Backend::sqlite: return join(kSqliteDrivers);
  }
  return "";
}

bool driver_known(Backend backend, std::string_view driver) {
  const auto matches = [&](const auto& names) {
    return std::any_of(names.begin(), names.end(),
                       [&](std::string_view name) { return iequals(name, driver); });
  };
  switch (backend) {
    case Backend::postgresql: return matches(kPostgresDrivers);
    case Backend::mysql: return matches(kMysqlDrivers);
    case Backend::mssql: return matches(kMssqlDrivers);
    case Backend::sqlite: return matches(kSqliteDrivers);
  }
  return false;
}

bool is_secret_query_key(std::string_view key) {
  const std::string lower = to_lower(key);
  return lower == "pwd" || lower.find("password") != std::string::npos ||
         lower.find("secret") != std::string::npos || lower.find("token") != std::string::npos;
}

// Replaces the values of PWD= / Password= attributes in an ODBC connection string with ***.
// Values may be braced ({...}, with "}}" for a literal '}') and then contain ';'.
std::string mask_odbc_secrets(std::string_view connection_string) {
  std::string masked;
  std::size_t i = 0;
  const std::size_t n = connection_string.size();
  while (i < n) {
    const std::size_t equals = connection_string.find('=', i);
    const std::size_t semicolon = connection_string.find(';', i);
    if (equals == std::string_view::npos || (semicolon != std::string_view::npos && semicolon < equals)) {
      const std::size_t end = semicolon == std::string_view::npos ? n : semicolon + 1;
      masked.append(connection_string.substr(i, end - i));
      i = end;
      continue;
    }
    std::size_t value_end = equals + 1;
    while (value_end < n && connection_string[value_end] == ' ') ++value_end;
    if (value_end < n && connection_string[value_end] == '{') {
      ++value_end;
      while (value_end < n) {
        if (connection_string[value_end] == '}') {
          if (value_end + 1 < n && connection_string[value_end + 1] == '}') {
            value_end += 2;
            continue;
          }
          ++value_end;
          break;
        }
        ++value_end;
      }
    }
    value_end = std::min(connection_string.find(';', value_end), n);
    const std::string_view key = connection_string.substr(i, equals - i);
    if (is_secret_query_key(config_detail::trim(key))) {
      masked.append(key);
      masked.append("=***");
    } else {
      masked.append(connection_string.substr(i, value_end - i));
    }
    if (value_end < n) masked.push_back(';');
    i = value_end + 1;
  }
  return masked;
}

std::string render_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::string rendered;
  for (const auto& [key, value] : query) {
    if (!rendered.empty()) rendered.push_back('&');
    std::string shown = value;
    if (is_secret_query_key(key)) {
      shown = "***";
    } else if (key == "odbc_connect") {
      shown = mask_odbc_secrets(value);
    }
    constexpr std::string_view kKeep = "!$'()*,;/:@";
    rendered += percent_encode(key, kKeep, true);
    rendered.push_back('=');
    rendered += shown == "***" ? shown : percent_encode(shown, kKeep, true);
  }
  return rendered;
}

std::string render_user(std::string_view user) { return percent_encode(user, "!$&'()*+,;=", false); }

// The raw pieces of `dialect[+driver]://[userinfo@]hostport[/database][?query]`.
struct RawUrl {
  std::string_view scheme;
  bool has_userinfo = false;
  std::string_view user;
  std::optional<std::string_view> password;
  std::string_view hostport;
  std::optional<std::string_view> database;  // after the '/', if there is one
  std::optional<std::string_view> query;
  bool at_sign_unaccounted = false;  // an '@' exists but no user-info was found: hide the URL
};

std::size_t find_first_of_from(std::string_view text, std::string_view chars, std::size_t from) {
  const std::size_t found = text.find_first_of(chars, from);
  return found == std::string_view::npos ? text.size() : found;
}

// Locates the user-info the way SQLAlchemy's pattern `([^:/]*)(?::([^@]*))?@` does.
void split_userinfo(std::string_view rest, RawUrl& raw, std::size_t& host_start) {
  host_start = 0;
  const std::size_t first_colon = rest.find(':');
  const std::size_t first_slash = rest.find('/');
  if (first_colon != std::string_view::npos &&
      (first_slash == std::string_view::npos || first_colon < first_slash)) {
    // user:password@ form: the password runs to an '@' whose following host has no '@'.
    for (std::size_t at = rest.find('@', first_colon); at != std::string_view::npos;
         at = rest.find('@', at + 1)) {
      const std::size_t host_end = find_first_of_from(rest, "/?", at + 1);
      if (rest.substr(at + 1, host_end - at - 1).find('@') == std::string_view::npos) {
        raw.has_userinfo = true;
        raw.user = rest.substr(0, first_colon);
        raw.password = rest.substr(first_colon + 1, at - first_colon - 1);
        host_start = at + 1;
        return;
      }
    }
  }
  // user@ form: the user name cannot contain ':' or '/'.
  const std::size_t limit = std::min(first_colon, first_slash);
  const std::size_t at = limit == 0 ? std::string_view::npos
                                    : rest.rfind('@', limit == std::string_view::npos ? limit : limit - 1);
  if (at != std::string_view::npos) {
    raw.has_userinfo = true;
    raw.user = rest.substr(0, at);
    host_start = at + 1;
  }
}

class UrlParser {
 public:
  UrlParser(std::string_view url, std::string_view setting_name) : url_(url), setting_(setting_name) {}

  DbUrl parse() {
    const std::size_t separator = url_.find("://");
    if (separator == std::string_view::npos || separator == 0) {
      fail_with_raw(
          "must be a database URL of the form dialect[+driver]://user:password@host:port/database, "
          "e.g. postgresql://luna:secret@localhost:5432/luna or sqlite:///data/luna.db");
    }
    raw_.scheme = url_.substr(0, separator);
    split_raw(url_.substr(separator + 3));
    parse_query();
    build_display();
    resolve_dialect();
    if (url_parts_.backend == Backend::sqlite) {
      finish_sqlite();
    } else {
      finish_server();
    }
    return std::move(url_parts_);
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    if (display_.empty()) {
      throw Error(ErrorKind::config,
                  fmt::format("{} {} (the URL is not shown because it may contain a password; percent-encode "
                              "'@', ':', '/', '?' and '%' in the user name and password)",
                              setting_, problem));
    }
    throw Error(ErrorKind::config, fmt::format("{} {} (got '{}')", setting_, problem, display_));
  }

  // Before the user-info is known only a URL without '@' can be shown safely.
  [[noreturn]] void fail_with_raw(const std::string& problem) {
    if (url_.find('@') == std::string_view::npos) display_ = std::string(url_);
    fail(problem);
  }

  void split_raw(std::string_view rest) {
    std::size_t host_start = 0;
    split_userinfo(rest, raw_, host_start);
    raw_.at_sign_unaccounted = !raw_.has_userinfo && rest.find('@') != std::string_view::npos;
    const std::size_t host_end = find_first_of_from(rest, "/?", host_start);
    raw_.hostport = rest.substr(host_start, host_end - host_start);
    std::size_t position = host_end;
    if (position < rest.size() && rest[position] == '/') {
      const std::size_t database_end = find_first_of_from(rest, "?", position + 1);
      raw_.database = rest.substr(position + 1, database_end - position - 1);
      position = database_end;
    }
    if (position < rest.size()) raw_.query = rest.substr(position + 1);
  }

  void parse_query() {
    if (!raw_.query) return;
    std::string_view remaining = *raw_.query;
    while (!remaining.empty()) {
      const std::size_t ampersand = remaining.find('&');
      const std::string_view pair = remaining.substr(0, ampersand);
      remaining = ampersand == std::string_view::npos ? std::string_view() : remaining.substr(ampersand + 1);
      const std::size_t equals = pair.find('=');
      // Like Python's parse_qsl: pairs without a value are dropped.
      if (equals == std::string_view::npos || equals + 1 == pair.size()) continue;
      url_parts_.query.emplace_back(percent_decode(pair.substr(0, equals), true),
                                    percent_decode(pair.substr(equals + 1), true));
    }
  }

  void build_display() {
    if (raw_.at_sign_unaccounted) return;  // display_ stays empty: the URL is never shown
    std::string shown(raw_.scheme);
    shown += "://";
    if (raw_.has_userinfo) {
      shown += raw_.user;
      if (raw_.password) shown += ":***";
      shown += "@";
    }
    shown += raw_.hostport;
    if (raw_.database) {
      shown += "/";
      shown += *raw_.database;
    }
    if (raw_.query) {
      shown += "?";
      shown += render_query(url_parts_.query);
    }
    display_ = std::move(shown);
  }

  void resolve_dialect() {
    const std::string_view scheme = raw_.scheme;
    const bool valid_chars = std::all_of(scheme.begin(), scheme.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
             c == '+';
    });
    const std::size_t plus = scheme.find('+');
    const std::string_view dialect = scheme.substr(0, plus);
    const auto known = std::find_if(kDialects.begin(), kDialects.end(),
                                    [&](const DialectName& entry) { return iequals(entry.name, dialect); });
    if (!valid_chars || known == kDialects.end()) {
      fail(fmt::format(
          "names an unsupported database '{}'; use one of: postgresql (or postgres), mysql, mariadb, "
          "mssql, sqlite",
          valid_chars ? dialect : std::string_view("?")));
    }
    url_parts_.backend = known->backend;
    url_parts_.dialect = std::string(dialect);
    if (plus != std::string_view::npos) {
      const std::string_view driver = scheme.substr(plus + 1);
      if (!driver_known(known->backend, driver)) {
        fail(fmt::format("names an unknown driver '{}' for {}; accepted drivers: {}", driver, dialect,
                         accepted_drivers(known->backend)));
      }
      url_parts_.driver = std::string(driver);
    }
  }

  void check_unique_query_keys() const {
    for (std::size_t i = 0; i < url_parts_.query.size(); ++i) {
      for (std::size_t j = i + 1; j < url_parts_.query.size(); ++j) {
        if (url_parts_.query[i].first == url_parts_.query[j].first) {
          fail(fmt::format("gives the query parameter '{}' more than once", url_parts_.query[i].first));
        }
      }
    }
  }

  void finish_sqlite() {
    if (raw_.has_userinfo || raw_.at_sign_unaccounted) {
      fail("is a sqlite URL and takes no user name or password");
    }
    if (!raw_.hostport.empty()) {
      fail(
          "is a sqlite URL with a host; write sqlite:///relative/path.db, sqlite:////absolute/path.db or "
          "sqlite:// (in memory)");
    }
    check_unique_query_keys();
    url_parts_.database = std::string(raw_.database.value_or(""));
  }

  void parse_hostport() {
    std::string_view hostport = raw_.hostport;
    std::string_view port_text;
    if (hostport.starts_with('[')) {
      const std::size_t close = hostport.find(']');
      if (close == std::string_view::npos || close == 1) fail("has an unterminated or empty [IPv6] host");
      url_parts_.host = std::string(hostport.substr(1, close - 1));
      const std::string_view after = hostport.substr(close + 1);
      if (!after.empty()) {
        if (after.front() != ':') fail("has unexpected text after the [IPv6] host; expected [address]:port");
        port_text = after.substr(1);
      }
    } else {
      const std::size_t colon = hostport.find(':');
      if (colon != std::string_view::npos && hostport.find(':', colon + 1) != std::string_view::npos) {
        fail(
            "has an IPv6 host without brackets; write it as [address], e.g. "
            "postgresql://user@[::1]:5432/luna");
      }
      url_parts_.host = std::string(hostport.substr(0, colon));
      if (colon != std::string_view::npos) port_text = hostport.substr(colon + 1);
    }
    const bool host_has_space = std::any_of(url_parts_.host.begin(), url_parts_.host.end(), [](char c) {
      return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
    });
    if (host_has_space) fail("has spaces or control characters in the host name");
    if (!port_text.empty()) {
      int port = 0;
      const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
      const bool all_digits =
          std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!all_digits || error != std::errc() || end != port_text.data() + port_text.size() || port < 1 ||
          port > 65535) {
        fail("has an invalid port; expected a whole number from 1 to 65535");
      }
      url_parts_.port = port;
    }
  }

  void finish_server() {
    if (raw_.has_userinfo) {
      url_parts_.user = percent_decode(raw_.user, false);
      if (raw_.password) url_parts_.password = percent_decode(*raw_.password, false);
    }
    parse_hostport();
    url_parts_.database = std::string(raw_.database.value_or(""));
    check_unique_query_keys();

    const std::string_view dialect = url_parts_.dialect;
    switch (url_parts_.backend) {
      case Backend::postgresql:
        // libpq also takes the host (or a socket directory) as ?host=.
        if (url_parts_.host.empty() && !url_parts_.query_value("host")) {
          fail(fmt::format("has no host; expected {}://user:password@host:port/database", dialect));
        }
        break;
      case Backend::mysql: finish_mysql(); break;
      case Backend::mssql:
        if (url_parts_.host.empty() && !url_parts_.query_value("odbc_connect")) {
          fail(
              "has no host; expected "
              "mssql+pyodbc://user:password@server/database?driver=ODBC+Driver+18+for+SQL+Server "
              "or mssql+pyodbc:///?odbc_connect=<percent-encoded ODBC connection string>");
        }
        break;
      case Backend::sqlite: break;
    }
  }

  void finish_mysql() {
    const std::string_view dialect = url_parts_.dialect;
    if (url_parts_.host.empty() && !url_parts_.query_value("unix_socket")) {
      fail(fmt::format("has no host; expected {}+pymysql://user:password@host:3306/database", dialect));
    }
    if (url_parts_.database.empty()) {
      fail(fmt::format("names no database; expected {}+pymysql://user:password@host:3306/database", dialect));
    }
    bool has_charset = false;
    for (auto& [key, value] : url_parts_.query) {
      if (key != "charset") continue;
      has_charset = true;
      if (!iequals(value, "utf8mb4")) {
        fail(fmt::format(
            "sets charset={}; lunadb requires charset=utf8mb4 (MySQL's utf8/utf8mb3 and other character sets "
            "cannot store emoji and other 4-byte characters, so text would be mangled or rejected)",
            value));
      }
      value = "utf8mb4";
    }
    // Drivers read the character set from the URL; making the default explicit keeps them from
    // falling back to the server's (often latin1 or utf8mb3).
    if (!has_charset) url_parts_.query.emplace_back("charset", "utf8mb4");
  }

  std::string_view url_;
  std::string_view setting_;
  RawUrl raw_;
  DbUrl url_parts_;
  std::string display_;
};

}  // namespace

std::optional<std::string> DbUrl::query_value(std::string_view key) const {
  for (const auto& [name, value] : query) {
    if (name == key) return value;
  }
  return std::nullopt;
}

bool DbUrl::sqlite_in_memory() const {
  return backend == Backend::sqlite && (database.empty() || database == ":memory:");
}

std::string DbUrl::redacted() const {
  std::string rendered = dialect.empty() ? std::string(to_string(backend)) : dialect;
  if (!driver.empty()) rendered += "+" + driver;
  rendered += "://";
  if (backend != Backend::sqlite) {
    if (!user.empty() || !password.empty()) {
      rendered += render_user(user);
      if (!password.empty()) rendered += ":***";
      rendered += "@";
    }
    rendered += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (port) rendered += fmt::format(":{}", *port);
  }
  if (!database.empty()) rendered += "/" + database;
  if (!query.empty()) rendered += "?" + render_query(query);
  return rendered;
}

DbUrl parse_db_url(std::string_view url, std::string_view setting_name) {
  return UrlParser(config_detail::trim(url), setting_name).parse();
}

}  // namespace lunadb
