#include "memory/keyword.hpp"

#include <algorithm>
#include <set>
#include <utility>

namespace lunadb::memory {

std::vector<std::string> query_words(std::string_view query) {
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
  };
  for (char ch : query) {
    auto byte = static_cast<unsigned char>(ch);
    bool ascii_word = (byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z');
    if (byte >= 0x80 || ascii_word) {
      word += ch;
    } else {
      flush();
    }
  }
  flush();
  return words;
}

std::string fts5_match_expression(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) out += (out.empty() ? "\"" : " OR \"") + word + "\"";
  return out;
}

std::vector<std::string> words_within_budget(const std::vector<std::string>& words,
                                             const std::function<std::int64_t(const std::string&)>& rows_containing,
                                             std::int64_t row_budget) {
  std::vector<std::string> unknown;
  std::vector<std::pair<std::int64_t, std::string>> counted;
  std::set<std::string> seen;
  for (const auto& word : words) {
    if (!seen.insert(word).second) continue;
    const bool ascii = std::all_of(word.begin(), word.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
    if (!ascii) {
      unknown.push_back(word);
      continue;
    }
    std::string folded = word;
    for (char& ch : folded)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    const std::int64_t rows = rows_containing(folded);
    if (rows < 0) {
      unknown.push_back(word);
    } else if (rows > 0) {
      counted.emplace_back(rows, word);
    }
  }
  std::stable_sort(counted.begin(), counted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> kept = std::move(unknown);
  std::int64_t total = 0;
  for (const auto& [rows, word] : counted) {
    if (total + rows > row_budget && (total > 0 || !kept.empty())) break;
    total += rows;
    kept.push_back(word);
  }
  return kept;
}

}  // namespace lunadb::memory
