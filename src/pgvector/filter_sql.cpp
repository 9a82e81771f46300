#include "pgvector/filter_sql.hpp"

#include <type_traits>

#include "pgvector/sql_text.hpp"

namespace lunadb::pgvector {

namespace {

using vector::Json;
using vector::detail::FilterCompare;
using vector::detail::FilterDocRegex;
using vector::detail::FilterDocText;
using vector::detail::FilterLogical;
using vector::detail::FilterNode;
using vector::detail::FilterOp;

// jsonb equality compares numbers as numeric (1 = 1.0), strings byte for byte, and never a
// number with a boolean: exactly the embedded store's scalar equality, given exact_json operands.
std::string compare_sql(const FilterCompare& c, SqlCondition& out) {
  const std::string value = "(metadata -> ?)";
  auto key = [&] { out.params.emplace_back(c.key); };
  auto operand = [&](const Json& j) { out.params.emplace_back(exact_json(j)); };
  switch (c.op) {
    case FilterOp::eq:
    case FilterOp::ne: {
      key();
      operand(c.operand);
      const std::string eq = "(" + value + " = ?::jsonb)";
      return c.op == FilterOp::eq ? "(" + eq + " IS TRUE)" : "(" + eq + " IS NOT TRUE)";
    }
    case FilterOp::in:
    case FilterOp::nin: {
      key();
      operand(c.operand);
      const std::string in = "(" + value + " IN (SELECT jsonb_array_elements(?::jsonb)))";
      return c.op == FilterOp::in ? "(" + in + " IS TRUE)" : "(" + in + " IS NOT TRUE)";
    }
    case FilterOp::contains:
    case FilterOp::not_contains: {
      key();
      operand(Json::array({c.operand}));
      const std::string contains = "(" + value + " @> ?::jsonb)";
      return c.op == FilterOp::contains ? "(" + contains + " IS TRUE)" : "(" + contains + " IS NOT TRUE)";
    }
    case FilterOp::gt:
    case FilterOp::gte:
    case FilterOp::lt:
    case FilterOp::lte: {
      const char* op = c.op == FilterOp::gt ? ">" : c.op == FilterOp::gte ? ">=" : c.op == FilterOp::lt ? "<" : "<=";
      key();
      key();
      out.params.emplace_back(exact_json(c.operand));
      // CASE keeps the cast away from strings and booleans (booleans are not numbers).
      return "((CASE WHEN jsonb_typeof" + value + " = 'number' THEN " + value + "::numeric " + op + " ?::numeric END) IS TRUE)";
    }
  }
  return "FALSE";
}

std::string node_sql(const FilterNode& node, SqlCondition& out) {
  return std::visit(
      [&](const auto& body) -> std::string {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, FilterCompare>) {
          return compare_sql(body, out);
        } else if constexpr (std::is_same_v<T, FilterDocText>) {
          out.params.emplace_back(body.needle);
          // strpos: a plain substring, no LIKE wildcards to escape; NULL documents never contain.
          return body.negate ? "((strpos(document, ?) > 0) IS NOT TRUE)" : "((strpos(document, ?) > 0) IS TRUE)";
        } else if constexpr (std::is_same_v<T, FilterDocRegex>) {
          out.needs_client_check = true;
          return "TRUE";
        } else {
          std::string text = "(";
          for (std::size_t i = 0; i < body.children.size(); ++i) {
            if (i > 0) text += body.is_and ? " AND " : " OR ";
            text += node_sql(*body.children[i], out);
          }
          return text + ")";
        }
      },
      node.body);
}

}  // namespace

SqlCondition translate(const vector::detail::Filter& filter) {
  SqlCondition out;
  std::vector<std::string> parts;
  if (filter.where_node()) parts.push_back(node_sql(*filter.where_node(), out));
  if (filter.document_node()) parts.push_back(node_sql(*filter.document_node(), out));
  if (parts.empty()) return out;
  out.text = parts[0];
  for (std::size_t i = 1; i < parts.size(); ++i) out.text += " AND " + parts[i];
  return out;
}

}  // namespace lunadb::pgvector
