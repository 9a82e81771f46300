#pragma once
// UTF-8 <-> UTF-16 for the ODBC wide-character API. lunadb hands text across the driver boundary
// as UTF-8; the ODBC layer talks UTF-16 (SQLWCHAR) to every driver, because the "W" entry points
// are the only ones whose encoding does not depend on the driver's or the process's locale.
//
// Thread-safety: pure functions.

#include <string>
#include <string_view>

namespace lunadb::sql::odbc {

// Throws Error(invalid_argument) naming `what` for text that is not valid UTF-8 (overlong forms,
// surrogates and code points above U+10FFFF included), so bad bytes never reach the server.
std::u16string utf8_to_utf16(std::string_view utf8, std::string_view what);

// A lone surrogate (which a well-behaved server never sends) becomes U+FFFD.
std::string utf16_to_utf8(std::u16string_view utf16);

}  // namespace lunadb::sql::odbc
