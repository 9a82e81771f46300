#include "memory/keyword.hpp"

namespace lunadb::memory {

std::string fts5_match_expression(std::string_view query) {
  std::string out;
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    out += (out.empty() ? "\"" : " OR \"") + word + "\"";
    word.clear();
  };
  for (char ch : query) {
    auto byte = static_cast<unsigned char>(ch);
    bool ascii_word = (byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z');
    if (byte >= 0x80 || ascii_word) {
      word += ch;  // a quote can never be inside: it is ASCII punctuation
    } else {
      flush();
    }
  }
  flush();
  return out;
}

}  // namespace lunadb::memory
