// parse_db_url: SQLAlchemy's URL grammar, backend rules, redaction, and that no error message
// ever contains a password.

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "lunadb/config.hpp"
#include "lunadb/error.hpp"

namespace lunadb {
namespace {

// Runs `action`, expects Error(config), returns its message.
std::string config_error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::config) << error.what();
    return error.what();
  }
  ADD_FAILURE() << "expected a configuration error";
  return "";
}

std::string url_error(const std::string& url) {
  return config_error_of([&] { parse_db_url(url); });
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(DbUrl, PostgresFullForm) {
  const DbUrl url = parse_db_url(
      "postgresql+psycopg2://luna:secret@db.example.com:5433/luna?sslmode=require&application_name=luna");
  EXPECT_EQ(url.backend, Backend::postgresql);
  EXPECT_EQ(url.dialect, "postgresql");
  EXPECT_EQ(url.driver, "psycopg2");
  EXPECT_EQ(url.user, "luna");
  EXPECT_EQ(url.password, "secret");
  EXPECT_EQ(url.host, "db.example.com");
  EXPECT_EQ(url.port, 5433);
  EXPECT_EQ(url.database, "luna");
  EXPECT_EQ(url.query_value("sslmode"), "require");
  EXPECT_EQ(url.query_value("application_name"), "luna");
  EXPECT_EQ(url.query_value("SSLMODE"), std::nullopt);  // keys are case-sensitive
  EXPECT_FALSE(url.sqlite_in_memory());
}

TEST(DbUrl, SupabasePoolerUrl) {
  const DbUrl url = parse_db_url(
      "postgresql+psycopg2://postgres.xxxx:password@aws-0-us-east-1.pooler.supabase.com:6543/postgres");
  EXPECT_EQ(url.user, "postgres.xxxx");
  EXPECT_EQ(url.host, "aws-0-us-east-1.pooler.supabase.com");
  EXPECT_EQ(url.port, 6543);
  EXPECT_EQ(url.database, "postgres");
}

TEST(DbUrl, OptionalPartsMayBeAbsent) {
  const DbUrl url = parse_db_url("postgresql://localhost");
  EXPECT_EQ(url.host, "localhost");
  EXPECT_EQ(url.port, std::nullopt);
  EXPECT_EQ(url.user, "");
  EXPECT_EQ(url.password, "");
  EXPECT_EQ(url.database, "");
  EXPECT_TRUE(url.query.empty());
  EXPECT_EQ(parse_db_url("postgresql://localhost:/luna").port, std::nullopt);  // empty port, as in SQLAlchemy
  EXPECT_EQ(parse_db_url("postgresql://user@localhost/luna").user, "user");
}

TEST(DbUrl, UserAndPasswordArePercentDecoded) {
  const DbUrl url = parse_db_url("postgresql://us%40er:p%40ss%3Aw%2Frd%25+x@localhost/luna");
  EXPECT_EQ(url.user, "us@er");
  EXPECT_EQ(url.password, "p@ss:w/rd%+x");  // '+' is literal in the user-info (unquote, not unquote_plus)
  EXPECT_EQ(url.host, "localhost");
}

TEST(DbUrl, RawSpecialCharactersInPasswordFollowSqlalchemy) {
  // SQLAlchemy's pattern lets a password hold raw ':', '/' and '?'.
  const DbUrl url = parse_db_url("postgresql://user:pa:ss/wo?rd@localhost:5432/luna");
  EXPECT_EQ(url.user, "user");
  EXPECT_EQ(url.password, "pa:ss/wo?rd");
  EXPECT_EQ(url.host, "localhost");
  EXPECT_EQ(url.port, 5432);
  EXPECT_EQ(url.database, "luna");
}

TEST(DbUrl, RawAtSignInPasswordIsAccepted) {
  const DbUrl url = parse_db_url("mysql+pymysql://luna:p@ss@word@localhost:3306/luna");
  EXPECT_EQ(url.password, "p@ss@word");
  EXPECT_EQ(url.host, "localhost");
}

TEST(DbUrl, AzureStyleUserNameWithAtSign) {
  const DbUrl url = parse_db_url(
      "mssql+pyodbc://luna@myserver:secret@myserver.database.windows.net/"
      "luna?driver=ODBC+Driver+18+for+SQL+Server");
  EXPECT_EQ(url.user, "luna@myserver");
  EXPECT_EQ(url.password, "secret");
  EXPECT_EQ(url.host, "myserver.database.windows.net");
}

TEST(DbUrl, QueryValuesDecodePlusAsSpace) {
  const DbUrl url = parse_db_url(
      "mssql+pyodbc://user:pw@server/"
      "luna?driver=ODBC+Driver+17+for+SQL+Server&x=a%2Bb&Encrypt=yes&TrustServerCertificate=no&empty=");
  EXPECT_EQ(url.backend, Backend::mssql);
  EXPECT_EQ(url.query_value("driver"), "ODBC Driver 17 for SQL Server");
  EXPECT_EQ(url.query_value("x"), "a+b");
  EXPECT_EQ(url.query_value("Encrypt"), "yes");
  EXPECT_EQ(url.query_value("TrustServerCertificate"), "no");
  EXPECT_EQ(url.query_value("empty"), std::nullopt);  // blank values are dropped, as parse_qsl does
  ASSERT_EQ(url.query.size(), 4u);
  EXPECT_EQ(url.query[0].first, "driver");  // in order
}

TEST(DbUrl, AzureActiveDirectoryWithoutUser) {
  const DbUrl url = parse_db_url(
      "mssql+pyodbc://@myserver.database.windows.net/"
      "luna?driver=ODBC+Driver+17+for+SQL+Server&Authentication="
      "ActiveDirectoryInteractive");
  EXPECT_EQ(url.user, "");
  EXPECT_EQ(url.host, "myserver.database.windows.net");
  EXPECT_EQ(url.database, "luna");
  EXPECT_EQ(url.query_value("Authentication"), "ActiveDirectoryInteractive");
}

TEST(DbUrl, MssqlOdbcConnectWithoutHost) {
  const std::string odbc =
      "DRIVER={ODBC Driver 18 for SQL "
      "Server};SERVER=tcp:x.database.windows.net,1433;DATABASE=luna;UID=luna;PWD={se;cr}}et};Encrypt=yes";
  const DbUrl url = parse_db_url(
      "mssql+pyodbc:///"
      "?odbc_connect=DRIVER%3D%7BODBC+Driver+18+for+SQL+Server%7D%3BSERVER%3Dtcp%3Ax.database.windows."
      "net%2C1433%3BDATABASE%3Dluna%3BUID%3Dluna%3BPWD%3D%7Bse%3Bcr%7D%7Det%7D%3BEncrypt%3Dyes");
  EXPECT_EQ(url.host, "");
  EXPECT_EQ(url.query_value("odbc_connect"), odbc);
  const std::string redacted = url.redacted();
  EXPECT_FALSE(contains(redacted, "se%3Bcr")) << redacted;
  EXPECT_FALSE(contains(redacted, "cr%7D%7Det")) << redacted;
  EXPECT_TRUE(contains(redacted, "PWD%3D***")) << redacted;
  EXPECT_TRUE(contains(redacted, "Encrypt%3Dyes")) << redacted;
  EXPECT_TRUE(contains(redacted, "UID%3Dluna")) << redacted;
}

TEST(DbUrl, Ipv6HostsInBrackets) {
  const DbUrl with_port = parse_db_url("postgresql://luna:pw@[::1]:5432/luna");
  EXPECT_EQ(with_port.host, "::1");
  EXPECT_EQ(with_port.port, 5432);
  const DbUrl without_port = parse_db_url("postgresql://[2001:db8::7]/luna");
  EXPECT_EQ(without_port.host, "2001:db8::7");
  EXPECT_EQ(without_port.port, std::nullopt);
  EXPECT_EQ(without_port.redacted(), "postgresql://[2001:db8::7]/luna");
}

TEST(DbUrl, DialectsAndDriversMapToBackends) {
  struct Case {
    std::string url;
    Backend backend;
  };
  const std::vector<Case> cases = {
      {"postgresql://h/d", Backend::postgresql},
      {"postgres://h/d", Backend::postgresql},
      {"postgresql+psycopg2://h/d", Backend::postgresql},
      {"postgresql+psycopg://h/d", Backend::postgresql},
      {"postgresql+psycopg2cffi://h/d", Backend::postgresql},
      {"postgresql+asyncpg://h/d", Backend::postgresql},
      {"postgresql+pg8000://h/d", Backend::postgresql},
      {"mysql://h/d", Backend::mysql},
      {"mariadb://h/d", Backend::mysql},
      {"mysql+pymysql://h/d", Backend::mysql},
      {"mysql+mysqldb://h/d", Backend::mysql},
      {"mysql+mysqlconnector://h/d", Backend::mysql},
      {"mariadb+mariadbconnector://h/d", Backend::mysql},
      {"mysql+aiomysql://h/d", Backend::mysql},
      {"mysql+asyncmy://h/d", Backend::mysql},
      {"mssql://h/d", Backend::mssql},
      {"mssql+pyodbc://h/d", Backend::mssql},
      {"mssql+aioodbc://h/d", Backend::mssql},
      {"mssql+pymssql://h/d", Backend::mssql},
      {"sqlite:///d.db", Backend::sqlite},
      {"sqlite+pysqlite:///d.db", Backend::sqlite},
      {"sqlite+aiosqlite:///d.db", Backend::sqlite},
  };
  for (const Case& test_case : cases) {
    EXPECT_EQ(parse_db_url(test_case.url).backend, test_case.backend) << test_case.url;
  }
  EXPECT_EQ(parse_db_url("postgres://h/d").dialect, "postgres");  // as written
  EXPECT_STREQ(to_string(Backend::sqlite), "sqlite");
  EXPECT_STREQ(to_string(Backend::postgresql), "postgresql");
  EXPECT_STREQ(to_string(Backend::mysql), "mysql");
  EXPECT_STREQ(to_string(Backend::mssql), "mssql");
}

TEST(DbUrl, UnknownDialectListsAcceptedOnes) {
  const std::string message = url_error("oracle+cx_oracle://scott:tiger@localhost/orcl");
  EXPECT_TRUE(contains(message, "DB_URL")) << message;
  EXPECT_TRUE(contains(message, "oracle")) << message;
  EXPECT_TRUE(contains(message, "postgresql")) << message;
  EXPECT_TRUE(contains(message, "mysql")) << message;
  EXPECT_TRUE(contains(message, "mssql")) << message;
  EXPECT_TRUE(contains(message, "sqlite")) << message;
  EXPECT_FALSE(contains(message, "tiger")) << message;
}

TEST(DbUrl, UnknownDriverListsAcceptedOnes) {
  const std::string message = url_error("postgresql+pyodbc://luna:tiger@localhost/luna");
  EXPECT_TRUE(contains(message, "pyodbc")) << message;
  EXPECT_TRUE(contains(message, "psycopg2, psycopg, psycopg2cffi, asyncpg, pg8000")) << message;
  EXPECT_FALSE(contains(message, "tiger")) << message;
  EXPECT_TRUE(contains(message, "luna:***@localhost")) << message;
  EXPECT_TRUE(contains(url_error("mysql+psycopg2://h/d"), "pymysql, mysqldb"))
      << url_error("mysql+psycopg2://h/d");
  EXPECT_TRUE(contains(url_error("mssql+pymysql://h/d"), "pyodbc, aioodbc, pymssql"));
  EXPECT_TRUE(contains(url_error("sqlite+pyodbc:///x.db"), "pysqlite, aiosqlite"));
  EXPECT_TRUE(contains(url_error("postgresql+psycopg2+extra://h/d"), "unknown driver"));
}

TEST(DbUrl, NotAUrl) {
  const std::string message = url_error("data/luna.db");
  EXPECT_TRUE(contains(message, "DB_URL must be a database URL")) << message;
  EXPECT_TRUE(contains(message, "'data/luna.db'")) << message;
  // Without "://" the user-info cannot be located, so a value with '@' is never shown.
  const std::string hidden = url_error("luna:tiger@localhost/luna");
  EXPECT_FALSE(contains(hidden, "tiger")) << hidden;
  EXPECT_TRUE(contains(hidden, "not shown")) << hidden;
  EXPECT_TRUE(contains(url_error("://host/db"), "must be a database URL"));
}

TEST(DbUrl, SettingNameAppearsInMessages) {
  const std::string message = config_error_of([] { parse_db_url("nope", "TEST_DATABASE_URL"); });
  EXPECT_TRUE(contains(message, "TEST_DATABASE_URL")) << message;
}

TEST(DbUrl, InvalidPorts) {
  for (const std::string port : {"0", "65536", "abc", "-1", "99999999999999999999", "54 32", "+5432"}) {
    const std::string message = url_error("postgresql://luna:tiger@localhost:" + port + "/luna");
    EXPECT_TRUE(contains(message, "port")) << message;
    EXPECT_TRUE(contains(message, "1 to 65535")) << message;
    EXPECT_FALSE(contains(message, "tiger")) << message;
  }
  EXPECT_EQ(parse_db_url("postgresql://localhost:1/d").port, 1);
  EXPECT_EQ(parse_db_url("postgresql://localhost:65535/d").port, 65535);
}

TEST(DbUrl, BadIpv6Forms) {
  EXPECT_TRUE(contains(url_error("postgresql://::1:5432/luna"), "brackets"));
  EXPECT_TRUE(contains(url_error("postgresql://[::1/luna"), "IPv6"));
  EXPECT_TRUE(contains(url_error("postgresql://[]:5432/luna"), "IPv6"));
  EXPECT_TRUE(contains(url_error("postgresql://[::1]x/luna"), "IPv6"));
}

TEST(DbUrl, ServerUrlsNeedAHost) {
  for (const std::string url :
       {"postgresql://luna:tiger@/luna", "postgresql:///luna", "mysql+pymysql://luna:tiger@/luna",
        "mssql+pyodbc://luna:tiger@/luna?driver=ODBC+Driver+18+for+SQL+Server"}) {
    const std::string message = url_error(url);
    EXPECT_TRUE(contains(message, "has no host")) << message;
    EXPECT_FALSE(contains(message, "tiger")) << message;
  }
  // Unix-socket forms name the socket in the query instead.
  EXPECT_EQ(parse_db_url("postgresql://luna@/luna?host=/var/run/postgresql").query_value("host"),
            "/var/run/postgresql");
  EXPECT_EQ(parse_db_url("mysql+pymysql://luna@/luna?unix_socket=/run/mysqld/mysqld.sock").host, "");
}

TEST(DbUrl, HostWithSpaces) { EXPECT_TRUE(contains(url_error("postgresql://local host/luna"), "host name")); }

TEST(DbUrl, MysqlCharsetDefaultsToUtf8mb4) {
  const DbUrl url = parse_db_url("mysql+pymysql://luna:pw@localhost:3306/luna");
  EXPECT_EQ(url.query_value("charset"), "utf8mb4");
  EXPECT_EQ(parse_db_url("mysql+pymysql://u:p@h/luna?charset=utf8mb4").query.size(), 1u);
  EXPECT_EQ(parse_db_url("mariadb://u:p@h/luna?charset=UTF8MB4").query_value("charset"), "utf8mb4");
}

TEST(DbUrl, MysqlOtherCharsetsAreRefusedWithAReason) {
  for (const std::string charset : {"utf8", "utf8mb3", "latin1"}) {
    const std::string message = url_error("mysql+pymysql://luna:tiger@localhost/luna?charset=" + charset);
    EXPECT_TRUE(contains(message, "charset=" + charset)) << message;
    EXPECT_TRUE(contains(message, "utf8mb4")) << message;
    EXPECT_TRUE(contains(message, "emoji")) << message;
    EXPECT_FALSE(contains(message, "tiger")) << message;
  }
}

TEST(DbUrl, MysqlNeedsADatabase) {
  const std::string message = url_error("mysql+pymysql://luna:tiger@localhost:3306");
  EXPECT_TRUE(contains(message, "names no database")) << message;
  EXPECT_FALSE(contains(message, "tiger")) << message;
}

TEST(DbUrl, RepeatedQueryKeyIsAnError) {
  const std::string message =
      url_error("postgresql://luna:tiger@localhost/luna?sslmode=require&sslmode=disable");
  EXPECT_TRUE(contains(message, "'sslmode' more than once")) << message;
  EXPECT_FALSE(contains(message, "tiger")) << message;
}

TEST(DbUrl, SqliteForms) {
  const DbUrl relative = parse_db_url("sqlite:///data/luna.db");
  EXPECT_EQ(relative.backend, Backend::sqlite);
  EXPECT_EQ(relative.database, "data/luna.db");
  EXPECT_FALSE(relative.sqlite_in_memory());
  EXPECT_EQ(parse_db_url("sqlite:////var/lib/luna/luna.db").database, "/var/lib/luna/luna.db");
  EXPECT_TRUE(parse_db_url("sqlite://").sqlite_in_memory());
  EXPECT_TRUE(parse_db_url("sqlite:///").sqlite_in_memory());
  EXPECT_TRUE(parse_db_url("sqlite:///:memory:").sqlite_in_memory());
  EXPECT_EQ(parse_db_url("sqlite:///:memory:").database, ":memory:");
  const DbUrl with_query = parse_db_url("sqlite:///luna.db?timeout=20");
  EXPECT_EQ(with_query.database, "luna.db");
  EXPECT_EQ(with_query.query_value("timeout"), "20");
}

TEST(DbUrl, SqliteRejectsHostAndCredentials) {
  EXPECT_TRUE(contains(url_error("sqlite://data/luna.db"), "with a host"));
  const std::string message = url_error("sqlite://luna:tiger@/x.db");
  EXPECT_TRUE(contains(message, "no user name or password")) << message;
  EXPECT_FALSE(contains(message, "tiger")) << message;
}

TEST(DbUrl, RedactedHidesPassword) {
  const DbUrl url = parse_db_url("postgresql+psycopg2://luna:tiger@localhost:5432/luna?sslmode=require");
  EXPECT_EQ(url.redacted(), "postgresql+psycopg2://luna:***@localhost:5432/luna?sslmode=require");
  EXPECT_EQ(parse_db_url("postgresql://luna@localhost/luna").redacted(), "postgresql://luna@localhost/luna");
  EXPECT_EQ(parse_db_url("sqlite:////abs/luna.db").redacted(), "sqlite:////abs/luna.db");
  EXPECT_EQ(parse_db_url("sqlite:///rel/luna.db").redacted(), "sqlite:///rel/luna.db");
  EXPECT_EQ(parse_db_url("sqlite://").redacted(), "sqlite://");
  EXPECT_EQ(parse_db_url("mysql://u@h/luna").redacted(), "mysql://u@h/luna?charset=utf8mb4");
  const std::string with_secret_query =
      parse_db_url("postgresql://h/luna?password=tiger&sslmode=require").redacted();
  EXPECT_EQ(with_secret_query, "postgresql://h/luna?password=***&sslmode=require");
}

TEST(DbUrl, RedactedRoundTripsWithoutPassword) {
  for (const std::string text :
       {"postgresql+psycopg2://us%40er@[::1]:5432/luna?application_name=luna+app&options=-c%20x%3Dy",
        "mssql+pyodbc://@server/luna?driver=ODBC+Driver+18+for+SQL+Server&Encrypt=yes",
        "mysql+pymysql://root@127.0.0.1:3306/luna?charset=utf8mb4", "sqlite:///data/luna.db?timeout=5"}) {
    const DbUrl first = parse_db_url(text);
    const DbUrl second = parse_db_url(first.redacted());
    EXPECT_EQ(second.backend, first.backend) << text;
    EXPECT_EQ(second.driver, first.driver) << text;
    EXPECT_EQ(second.user, first.user) << text;
    EXPECT_EQ(second.host, first.host) << text;
    EXPECT_EQ(second.port, first.port) << text;
    EXPECT_EQ(second.database, first.database) << text;
    EXPECT_EQ(second.query, first.query) << text;
  }
}

// Every rejected URL carrying a password: the password appears in no message.
TEST(DbUrl, PasswordsNeverAppearInErrors) {
  const std::string secret = "S3cr3tPw";
  const std::vector<std::string> bad_urls = {
      "oracle://luna:" + secret + "@localhost/luna",
      "postgresql+nope://luna:" + secret + "@localhost/luna",
      "postgresql://luna:" + secret + "@localhost:70000/luna",
      "postgresql://luna:" + secret + "@localhost:port/luna",
      "postgresql://luna:" + secret + "@/luna",
      "postgresql://luna:" + secret + "@::1/luna",
      "postgresql://luna:" + secret + "@[::1/luna",
      "postgresql://luna:" + secret + "@localhost/luna?a=1&a=2",
      "mysql+pymysql://luna:" + secret + "@localhost/luna?charset=latin1",
      "mysql+pymysql://luna:" + secret + "@localhost",
      "mssql+pyodbc://luna:" + secret + "@/luna",
      "mssql+pyodbc:///?odbc_connect=DRIVER%3DFreeTDS%3BPWD%3D" + secret + "&odbc_connect=x",
      "postgresql://h/luna?password=" + secret + "&password=again",
      "sqlite://luna:" + secret + "@/x.db",
      "luna:" + secret + "@localhost/luna",
      "postgresql://luna:p%40" + secret + "@local host/luna",
      "postgresql://luna:" + secret + "@@@/luna",
  };
  for (const std::string& url : bad_urls) {
    const std::string message = url_error(url);
    EXPECT_FALSE(message.empty()) << url;
    EXPECT_FALSE(contains(message, secret)) << message;
  }
}

}  // namespace
}  // namespace lunadb
