// Input checks that run before a statement is prepared, so a bad record writes nothing and the
// error names the field instead of surfacing as a driver error (or, worse, as stored garbage).
#include <cmath>
#include <nlohmann/json.hpp>

#include "store/core.hpp"

namespace lunadb::store::detail {

namespace {

// The offset of the first byte that is not part of well-formed UTF-8 (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or npos.
std::size_t first_invalid_utf8(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::size_t i = 0;
  while (i < size) {
    unsigned char lead = bytes[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char second_min = 0x80, second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) second_min = 0xA0;  // overlong
      if (lead == 0xED) second_max = 0x9F;  // UTF-16 surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) second_min = 0x90;  // overlong
      if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + length > size) return i;
    if (bytes[i + 1] < second_min || bytes[i + 1] > second_max) return i;
    for (std::size_t k = 2; k < length; ++k) {
      if (bytes[i + k] < 0x80 || bytes[i + k] > 0xBF) return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

}  // namespace

void check_utf8(std::string_view field, std::string_view text) {
  auto at = first_invalid_utf8(text);
  if (at != std::string_view::npos) {
    throw Error(ErrorKind::invalid_argument,
                std::string(field) + ": invalid UTF-8 at byte " + std::to_string(at) + "; nothing was written");
  }
}

void check_utf8(std::string_view field, const std::optional<std::string>& text) {
  if (text) check_utf8(field, *text);
}

void check_json(std::string_view field, std::string_view text) {
  check_utf8(field, text);
  if (!nlohmann::json::accept(text)) {
    throw Error(ErrorKind::invalid_argument, std::string(field) + ": not a valid JSON document; nothing was written");
  }
}

void check_json(std::string_view field, const std::optional<std::string>& text) {
  if (text) check_json(field, *text);
}

void check_finite(std::string_view field, double value) {
  if (!std::isfinite(value)) {
    throw Error(ErrorKind::invalid_argument,
                std::string(field) + ": must be a finite number, not NaN or infinity; nothing was written");
  }
}

void check_finite(std::string_view field, const std::optional<double>& value) {
  if (value) check_finite(field, *value);
}

}  // namespace lunadb::store::detail
