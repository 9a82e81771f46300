#pragma once
// ChromaDB's `where` / `where_document`, compiled by the embedded store's own Filter, translated
// to a SQL condition over the `metadata` (jsonb) and `document` (text) columns.

#include <string>
#include <vector>

#include "sql/value.hpp"
#include "vector/filter.hpp"

namespace lunadb::pgvector {

struct SqlCondition {
  std::string text = "TRUE";        // with '?' placeholders
  std::vector<sql::Value> params;   // in placeholder order
  // RE2 regexes ($regex / $not_regex) are not PostgreSQL's regex dialect: they become TRUE in
  // `text` (a superset, since the grammar has no negation above a leaf), and the rows that pass
  // are then checked against the Filter itself.
  bool needs_client_check = false;
};

SqlCondition translate(const vector::detail::Filter& filter);

}  // namespace lunadb::pgvector
