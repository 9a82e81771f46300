// The ODBC connection string built from DB_URL, its redaction, the UTF-8/UTF-16 conversion and
// the SQLSTATE classification. No server needed.
#include <gtest/gtest.h>

#include "lunadb/config.hpp"
#include "lunadb/error.hpp"
#include "sql/odbc_connection_string.hpp"
#include "sql/odbc_driver.hpp"
#include "sql/odbc_text.hpp"

namespace lunadb::sql::odbc {
namespace {

std::string build(const std::string& url) { return connection_string_for(parse_db_url(url)); }

TEST(OdbcConnectionString, HostnameFormWithDriverAndPort) {
  EXPECT_EQ(build("mssql+pyodbc://luna:pw@db.example.com:1433/lunadb?driver=ODBC+Driver+17+for+SQL+Server"),
            "DRIVER={ODBC Driver 17 for SQL Server};SERVER=db.example.com,1433;DATABASE=lunadb;UID=luna;PWD=pw");
}

TEST(OdbcConnectionString, PassesThroughAuthenticationEncryptAndTrust) {
  EXPECT_EQ(build("mssql+pyodbc://u%40tenant.com:p%40ss@srv.database.windows.net/luna?"
                  "driver=ODBC+Driver+18+for+SQL+Server&Authentication=ActiveDirectoryPassword&Encrypt=yes&"
                  "TrustServerCertificate=no"),
            "DRIVER={ODBC Driver 18 for SQL Server};SERVER=srv.database.windows.net;DATABASE=luna;UID=u@tenant.com;"
            "PWD=p@ss;Authentication=ActiveDirectoryPassword;Encrypt=yes;TrustServerCertificate=no");
}

TEST(OdbcConnectionString, BracesValuesWithSpecialCharacters) {
  EXPECT_EQ(build("mssql+pyodbc://sa:a%3Bb%7Dc@host/db?driver=ODBC+Driver+18+for+SQL+Server"),
            "DRIVER={ODBC Driver 18 for SQL Server};SERVER=host;DATABASE=db;UID=sa;PWD={a;b}}c}");
  EXPECT_EQ(quote_attribute_value("plain"), "plain");
  EXPECT_EQ(quote_attribute_value("a;b"), "{a;b}");
  EXPECT_EQ(quote_attribute_value("x}y"), "{x}}y}");
  EXPECT_EQ(quote_attribute_value(" padded"), "{ padded}");
  EXPECT_EQ(quote_attribute_value("k=v"), "{k=v}");
}

TEST(OdbcConnectionString, NoPasswordMeansNoPwd) {
  // Managed identity: a user (client id) but no password -> no PWD at all.
  std::string cs = build("mssql+pyodbc://client-id@srv/db?driver=ODBC+Driver+18+for+SQL+Server&"
                         "Authentication=ActiveDirectoryMsi");
  EXPECT_EQ(cs, "DRIVER={ODBC Driver 18 for SQL Server};SERVER=srv;DATABASE=db;UID=client-id;"
                "Authentication=ActiveDirectoryMsi");
  EXPECT_EQ(cs.find("PWD"), std::string::npos);
  // Interactive: no user and no password, but an Authentication method -> no Trusted_Connection.
  cs = build("mssql+pyodbc://srv/db?driver=ODBC+Driver+18+for+SQL+Server&Authentication=ActiveDirectoryInteractive");
  EXPECT_EQ(cs.find("PWD"), std::string::npos);
  EXPECT_EQ(cs.find("Trusted_Connection"), std::string::npos);
  // Nothing at all: a Windows/Kerberos login, as SQLAlchemy does.
  cs = build("mssql+pyodbc://srv/db?driver=ODBC+Driver+18+for+SQL+Server");
  EXPECT_NE(cs.find(";Trusted_Connection=Yes"), std::string::npos);
}

TEST(OdbcConnectionString, FreeTdsGetsProtocolVersionCharsetAndPortAttribute) {
  EXPECT_EQ(build("mssql+pyodbc://sa:pw@10.0.0.5:1433/luna?driver=FreeTDS"),
            "DRIVER={FreeTDS};SERVER=10.0.0.5;PORT=1433;DATABASE=luna;UID=sa;PWD=pw;TDS_Version=7.4;"
            "ClientCharset=UTF-8");
  // A version the user chose wins.
  std::string cs = build("mssql+pyodbc://sa:pw@h/luna?driver=FreeTDS&TDS_Version=8.0");
  EXPECT_NE(cs.find("TDS_Version=8.0"), std::string::npos);
  EXPECT_EQ(cs.find("TDS_Version=7.4"), std::string::npos);
  EXPECT_TRUE(is_freetds("FreeTDS"));
  EXPECT_TRUE(is_freetds("/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so"));
  EXPECT_FALSE(is_freetds("ODBC Driver 18 for SQL Server"));
}

TEST(OdbcConnectionString, OdbcConnectIsUsedAsIs) {
  std::string raw = "DRIVER={ODBC Driver 18 for SQL Server};SERVER=x.database.windows.net;DATABASE=db;Encrypt=yes;"
                    "Authentication=ActiveDirectoryInteractive";
  std::string encoded =
      "DRIVER%3D%7BODBC+Driver+18+for+SQL+Server%7D%3BSERVER%3Dx.database.windows.net%3BDATABASE%3Ddb%3B"
      "Encrypt%3Dyes%3BAuthentication%3DActiveDirectoryInteractive";
  EXPECT_EQ(build("mssql+pyodbc:///?odbc_connect=" + encoded), raw);
}

TEST(OdbcConnectionString, MissingDriverIsAConfigErrorNamingDbUrl) {
  try {
    build("mssql+pyodbc://sa:secretpw@host/db");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    std::string message = e.what();
    EXPECT_NE(message.find("DB_URL"), std::string::npos);
    EXPECT_NE(message.find("driver="), std::string::npos);
    EXPECT_EQ(message.find("secretpw"), std::string::npos);
  }
  DbUrl empty_connect;
  empty_connect.backend = Backend::mssql;
  empty_connect.query = {{"odbc_connect", "  "}};
  EXPECT_THROW(connection_string_for(empty_connect), Error);
}

TEST(OdbcConnectionString, RedactsPasswordsAndTokens) {
  EXPECT_EQ(redact_connection_string("DRIVER={x};SERVER=s;UID=u;PWD=secret;Encrypt=yes"),
            "DRIVER={x};SERVER=s;UID=u;PWD=***;Encrypt=yes");
  EXPECT_EQ(redact_connection_string("DRIVER={x};pwd={a;b}}c};UID=u"), "DRIVER={x};pwd=***;UID=u");
  EXPECT_EQ(redact_connection_string("Server=s;Password=hunter2"), "Server=s;Password=***");
  EXPECT_EQ(redact_connection_string("Server=s;AccessToken=abc;ClientSecret=def"),
            "Server=s;AccessToken=***;ClientSecret=***");
  EXPECT_EQ(redact_connection_string("DRIVER={x};SERVER=s"), "DRIVER={x};SERVER=s");
}

TEST(OdbcConnectionString, ParsesAttributes) {
  auto attrs = parse_connection_string("DRIVER={ODBC Driver 18 for SQL Server};SERVER=h,1433;PWD={p;w}}d};;Bare");
  ASSERT_EQ(attrs.size(), 4u);
  EXPECT_EQ(attrs[0], (std::pair<std::string, std::string>{"DRIVER", "ODBC Driver 18 for SQL Server"}));
  EXPECT_EQ(attrs[1].second, "h,1433");
  EXPECT_EQ(attrs[2].second, "p;w}d");
  EXPECT_EQ(attrs[3].first, "Bare");
  EXPECT_EQ(attribute("a=1;Pwd=x", "PWD"), "x");
  EXPECT_EQ(attribute("a=1", "PWD"), "");
}

TEST(OdbcText, ConvertsBothWays) {
  const std::string samples[] = {"", "ascii", "ü é ß", "記憶", "😀🌙", "مرحبا", "e\xCC\x81", std::string("nul\0in", 6)};
  for (const auto& s : samples) EXPECT_EQ(utf16_to_utf8(utf8_to_utf16(s, "sample")), s);
  EXPECT_EQ(utf8_to_utf16("😀", "x"), std::u16string(u"\xD83D\xDE00"));
}

TEST(OdbcText, RefusesInvalidUtf8) {
  for (std::string bad : {"\xC3\x28", "\xE2\x82", "\xF0\x9F\x98", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF"}) {
    try {
      utf8_to_utf16(bad, "the test value");
      FAIL() << "accepted invalid UTF-8";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
      EXPECT_NE(std::string(e.what()).find("the test value"), std::string::npos);
    }
  }
  // A lone surrogate from a server becomes U+FFFD instead of invalid UTF-8.
  EXPECT_EQ(utf16_to_utf8(std::u16string(1, char16_t(0xD800))), "\xEF\xBF\xBD");
}

TEST(OdbcClassify, MapsSqlstatesAndNativeErrors) {
  auto c = classify("23000", 2627);  // SQL Server: PRIMARY KEY violation
  EXPECT_EQ(c.kind, ErrorKind::constraint);
  EXPECT_FALSE(c.connection_lost);
  c = classify("40001", 1205);  // SQL Server deadlock victim
  EXPECT_EQ(c.kind, ErrorKind::busy);
  EXPECT_TRUE(c.retryable);
  c = classify("HYT00", 0);  // query timeout
  EXPECT_EQ(c.kind, ErrorKind::busy);
  EXPECT_TRUE(c.retryable);
  c = classify("08S01", 0);  // communication link failure
  EXPECT_EQ(c.kind, ErrorKind::connection);
  EXPECT_TRUE(c.connection_lost);
  EXPECT_TRUE(c.retryable);
  c = classify("08003", 0);
  EXPECT_TRUE(c.connection_lost);
  c = classify("28000", 18456);  // login failed
  EXPECT_EQ(c.kind, ErrorKind::connection);
  EXPECT_FALSE(c.retryable);
  EXPECT_EQ(classify("IM002", 0).kind, ErrorKind::config);
  EXPECT_EQ(classify("42000", 102).kind, ErrorKind::usage);  // SQL Server syntax error
  EXPECT_EQ(classify("22001", 8152).kind, ErrorKind::invalid_argument);  // string truncation
  EXPECT_EQ(classify("HY000", 2013).kind, ErrorKind::connection);  // MariaDB lost connection
  EXPECT_EQ(classify("HY000", 0).kind, ErrorKind::internal);
}

}  // namespace
}  // namespace lunadb::sql::odbc
