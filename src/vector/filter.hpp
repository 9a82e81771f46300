#pragma once
// ChromaDB's `where` / `where_document` grammar, compiled once per request and evaluated in
// memory against a record's metadata and document.

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "lunadb/vector.hpp"

namespace re2 {
class RE2;
}

namespace lunadb::vector::detail {

// The compiled grammar. Public so that another backend (src/pgvector) can translate the very tree
// this evaluator runs, instead of parsing the JSON a second time with rules of its own.
enum class FilterOp { eq, ne, gt, gte, lt, lte, in, nin, contains, not_contains };
struct FilterCompare {
  std::string key;
  FilterOp op;
  Json operand;  // validated: a scalar, a number for gt..lte, a non-empty list of one type for in/nin
};
struct FilterDocText {
  std::string needle;
  bool negate;
};
struct FilterDocRegex {
  std::shared_ptr<const re2::RE2> pattern;
  bool negate;
};
struct FilterNode;
struct FilterLogical {
  bool is_and;
  std::vector<std::unique_ptr<FilterNode>> children;
};
struct FilterNode {
  std::variant<FilterCompare, FilterDocText, FilterDocRegex, FilterLogical> body;
};

class Filter {
 public:
  // Throws Error(invalid_argument) naming the operator or the shape at fault. Null = no filter.
  static Filter compile(const Json& where, const Json& where_document);
  Filter();
  ~Filter();
  Filter(Filter&&) noexcept;
  Filter& operator=(Filter&&) noexcept;

  bool empty() const { return !where_ && !document_; }
  bool matches(const Json& metadata, const std::optional<std::string>& document) const;

  using Node = FilterNode;
  const Node* where_node() const { return where_.get(); }        // null: no `where`
  const Node* document_node() const { return document_.get(); }  // null: no `where_document`

 private:
  std::unique_ptr<Node> where_;
  std::unique_ptr<Node> document_;
};

// Metadata rules (see vector.hpp). `allow_null` is true for update/upsert patches, where a null
// value removes the key. `context` names the record in error messages.
void validate_metadata(const Json& metadata, bool allow_null, const std::string& context);
// Applies a patch key by key; null values remove keys. Returns null when nothing is left.
Json merge_metadata(const Json& base, const Json& patch);
// Drops null values (a null in an add means "no such key"); null when nothing is left.
Json normalise_metadata(const Json& metadata);

}  // namespace lunadb::vector::detail
