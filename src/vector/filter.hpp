#pragma once
// ChromaDB's `where` / `where_document` grammar, compiled once per request and evaluated in
// memory against a record's metadata and document.

#include <memory>
#include <optional>
#include <string>

#include "lunadb/vector.hpp"

namespace lunadb::vector::detail {

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

  struct Node;

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
