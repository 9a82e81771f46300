#include "embed/text.hpp"

#include <nlohmann/json.hpp>

namespace lunadb::embed_detail {

std::optional<std::size_t> first_invalid_utf8(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::size_t i = 0;
  while (i < size) {
    const unsigned char lead = bytes[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // allowed range of the first continuation byte
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;   // overlong
      if (lead == 0xED) high = 0x9F;  // UTF-16 surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;   // overlong
      if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + length > size) return i;
    if (bytes[i + 1] < low || bytes[i + 1] > high) return i;
    for (std::size_t k = 2; k < length; ++k) {
      if ((bytes[i + k] & 0xC0) != 0x80) return i;
    }
    i += length;
  }
  return std::nullopt;
}

std::string redact_url(std::string_view url) {
  // Without a scheme (a mistyped setting) the authority starts the text.
  const auto scheme_end = url.find("://");
  const std::size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const std::size_t authority_end = std::min(url.find_first_of("/?#", authority_start), url.size());
  const std::string_view authority = url.substr(authority_start, authority_end - authority_start);
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  const std::string_view userinfo = authority.substr(0, at);
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return std::string(url);
  std::string redacted(url.substr(0, authority_start));
  redacted += userinfo.substr(0, colon);
  redacted += ":***";
  redacted += url.substr(authority_start + at);
  return redacted;
}

std::string redact(std::string text, const std::string& secret) {
  if (!secret.empty()) {
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "***");
      at += 3;
    }
  }
  // Whatever token follows "Bearer " is someone's credential, even if it is not ours.
  for (auto at = text.find("Bearer "); at != std::string::npos; at = text.find("Bearer ", at)) {
    const std::size_t token_start = at + 7;
    std::size_t token_end = token_start;
    while (token_end < text.size() && std::string_view(" \"',;\n\r\t").find(text[token_end]) == std::string_view::npos) {
      ++token_end;
    }
    if (text.compare(token_start, token_end - token_start, "***") != 0) {
      text.replace(token_start, token_end - token_start, "***");
    }
    at = token_start + 3;
  }
  return text;
}

std::string truncate_utf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t cut = max_bytes;
  // Step back over continuation bytes so the cut lands before a lead byte.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

std::string summarize_body(std::string_view body, std::size_t max_bytes) {
  std::string summary;
  const auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.contains("error")) {
    const auto& error = parsed["error"];
    if (error.is_string()) {
      summary = error.get<std::string>();
    } else if (error.is_object() && error.contains("message") && error["message"].is_string()) {
      summary = error["message"].get<std::string>();
    }
  }
  if (summary.empty()) summary = std::string(body);
  for (char& c : summary) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  const auto start = summary.find_first_not_of(' ');
  if (start == std::string::npos) return "(empty body)";
  const auto end = summary.find_last_not_of(' ');
  summary = summary.substr(start, end - start + 1);
  // A body that is not UTF-8 must not make the message itself invalid.
  if (auto bad = first_invalid_utf8(summary)) summary = summary.substr(0, *bad) + "(non-UTF-8 bytes)";
  return truncate_utf8(summary, max_bytes);
}

}  // namespace lunadb::embed_detail
