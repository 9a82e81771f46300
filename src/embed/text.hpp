#pragma once
// Text helpers for the embedding providers: input validation and safe error messages.
// Pure functions; thread-safe.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace lunadb::embed_detail {

// The byte offset of the first invalid UTF-8 sequence (overlong forms, surrogates and code
// points above U+10FFFF are invalid), or nullopt when `text` is valid.
std::optional<std::size_t> first_invalid_utf8(std::string_view text);

// `url` with the password of any user:password@ part replaced by "***".
std::string redact_url(std::string_view url);

// Removes every occurrence of `secret` (when not empty) and the token after any "Bearer ".
std::string redact(std::string text, const std::string& secret);

// A one-line summary of an HTTP error body for an error message: the "error" / "error.message"
// field when the body is JSON that has one, else the body itself; control characters flattened,
// cut to `max_bytes` on a UTF-8 boundary.
std::string summarize_body(std::string_view body, std::size_t max_bytes = 300);

// Cuts `text` to at most `max_bytes` without splitting a UTF-8 sequence, adding "..." if cut.
std::string truncate_utf8(std::string_view text, std::size_t max_bytes);

}  // namespace lunadb::embed_detail
