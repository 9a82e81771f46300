#include "sql/odbc_connection_string.hpp"

#include <algorithm>
#include <cctype>

#include "lunadb/error.hpp"

namespace lunadb::sql::odbc {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string trim(std::string_view text) {
  auto begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  auto end = text.find_last_not_of(" \t");
  return std::string(text.substr(begin, end - begin + 1));
}

bool is_secret_key(std::string_view key) {
  std::string name = lower(trim(key));
  return name == "pwd" || name.find("password") != std::string::npos || name.find("secret") != std::string::npos ||
         name.find("token") != std::string::npos;
}

// Query keys that configure the URL itself rather than the ODBC driver.
bool is_url_only_key(std::string_view key) {
  std::string name = lower(key);
  return name == "driver" || name == "odbc_connect";
}

bool has_key(const std::vector<std::pair<std::string, std::string>>& query, std::string_view key) {
  std::string wanted = lower(key);
  return std::any_of(query.begin(), query.end(), [&](const auto& kv) { return lower(kv.first) == wanted; });
}

const std::string* find_query(const DbUrl& url, std::string_view key) {
  for (const auto& [k, v] : url.query) {
    if (k == key) return &v;
  }
  return nullptr;
}

struct Attribute {
  std::string key;
  std::string value;
  std::size_t begin = 0;  // offsets of the raw text "key=value" in the connection string
  std::size_t end = 0;
};

std::vector<Attribute> scan(std::string_view text) {
  std::vector<Attribute> out;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    if (text[i] == ';') {
      ++i;
      continue;
    }
    Attribute attr;
    attr.begin = i;
    std::size_t equals = text.find('=', i);
    std::size_t semicolon = text.find(';', i);
    if (equals == std::string_view::npos || (semicolon != std::string_view::npos && semicolon < equals)) {
      // A bare word without '=': keep it as a key with no value.
      std::size_t stop = semicolon == std::string_view::npos ? n : semicolon;
      attr.key = trim(text.substr(i, stop - i));
      attr.end = stop;
      out.push_back(attr);
      i = stop;
      continue;
    }
    attr.key = trim(text.substr(i, equals - i));
    std::size_t v = equals + 1;
    while (v < n && text[v] == ' ') ++v;
    if (v < n && text[v] == '{') {
      ++v;
      while (v < n) {
        if (text[v] == '}') {
          if (v + 1 < n && text[v + 1] == '}') {
            attr.value += '}';
            v += 2;
            continue;
          }
          ++v;
          break;
        }
        attr.value += text[v++];
      }
      std::size_t stop = text.find(';', v);
      attr.end = stop == std::string_view::npos ? n : stop;
    } else {
      std::size_t stop = text.find(';', v);
      attr.end = stop == std::string_view::npos ? n : stop;
      attr.value = trim(text.substr(v, attr.end - v));
    }
    out.push_back(attr);
    i = attr.end;
  }
  return out;
}

}  // namespace

std::string quote_attribute_value(std::string_view value) {
  bool needs_braces = value.find_first_of(";{}=") != std::string_view::npos ||
                      (!value.empty() && (value.front() == ' ' || value.back() == ' '));
  if (!needs_braces) return std::string(value);
  std::string out = "{";
  for (char c : value) {
    if (c == '}') out += '}';
    out += c;
  }
  out += '}';
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_connection_string(std::string_view connection_string) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& attr : scan(connection_string)) out.emplace_back(std::move(attr.key), std::move(attr.value));
  return out;
}

std::string attribute(std::string_view connection_string, std::string_view key) {
  std::string wanted = lower(key);
  for (auto& attr : scan(connection_string)) {
    if (lower(attr.key) == wanted) return attr.value;
  }
  return {};
}

std::string redact_connection_string(std::string_view connection_string) {
  std::string out;
  std::size_t copied = 0;
  for (const auto& attr : scan(connection_string)) {
    if (!is_secret_key(attr.key)) continue;
    out.append(connection_string.substr(copied, attr.begin - copied));
    out += attr.key + "=***";
    copied = attr.end;
  }
  out.append(connection_string.substr(copied));
  return out;
}

bool is_freetds(std::string_view driver) {
  std::string name = lower(driver);
  return name.find("freetds") != std::string::npos || name.find("tdsodbc") != std::string::npos;
}

std::string connection_string_for(const DbUrl& url) {
  if (const std::string* raw = find_query(url, "odbc_connect")) {
    if (trim(*raw).empty()) {
      throw Error(ErrorKind::config, "DB_URL: odbc_connect is empty; expected a percent-encoded ODBC connection string "
                                     "such as DRIVER%3D%7BODBC+Driver+18+for+SQL+Server%7D%3BSERVER%3Dhost%3B...");
    }
    return *raw;
  }
  const std::string* driver = find_query(url, "driver");
  if (driver == nullptr || trim(*driver).empty()) {
    throw Error(ErrorKind::config,
                "DB_URL: an mssql URL needs ?driver=<ODBC driver name> (for example "
                "driver=ODBC+Driver+18+for+SQL+Server or driver=FreeTDS) or ?odbc_connect=<ODBC connection string>");
  }
  if (url.host.empty()) {
    throw Error(ErrorKind::config, "DB_URL: an mssql URL with ?driver= needs a server: "
                                   "mssql+pyodbc://user:password@server:1433/database?driver=...");
  }
  const bool freetds = is_freetds(*driver);
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;

  std::string out = "DRIVER={";
  // Inside braces a '}' is doubled, like quote_attribute_value does.
  for (char c : *driver) {
    if (c == '}') out += '}';
    out += c;
  }
  out += "}";
  if (freetds) {
    // FreeTDS reads the port from its own attribute; "host,port" is the Microsoft driver's form.
    out += ";SERVER=" + quote_attribute_value(host);
    if (url.port) out += ";PORT=" + std::to_string(*url.port);
  } else {
    out += ";SERVER=" + quote_attribute_value(url.port ? host + "," + std::to_string(*url.port) : host);
  }
  if (!url.database.empty()) out += ";DATABASE=" + quote_attribute_value(url.database);
  if (!url.user.empty()) out += ";UID=" + quote_attribute_value(url.user);
  // No PWD at all without a password: interactive and managed-identity logins must not see an
  // empty one (sqlalchemy#5592).
  if (!url.password.empty()) out += ";PWD=" + quote_attribute_value(url.password);
  // Without any credentials SQL Server's own convention is a Windows/Kerberos login, as SQLAlchemy does.
  if (url.user.empty() && url.password.empty() && !has_key(url.query, "Authentication") &&
      !has_key(url.query, "Trusted_Connection")) {
    out += ";Trusted_Connection=Yes";
  }
  for (const auto& [key, value] : url.query) {
    if (is_url_only_key(key)) continue;
    out += ";" + key + "=" + quote_attribute_value(value);
  }
  if (freetds) {
    // TDS 7.4 is the protocol of SQL Server 2012+ (needed for DATETIME2 and (MAX) types); UTF-8 on
    // the client side keeps non-Latin text intact in the narrow paths FreeTDS still uses.
    if (!has_key(url.query, "TDS_Version")) out += ";TDS_Version=7.4";
    if (!has_key(url.query, "ClientCharset")) out += ";ClientCharset=UTF-8";
  }
  return out;
}

}  // namespace lunadb::sql::odbc
