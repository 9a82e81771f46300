#include "vector/filter.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <variant>
#include <vector>

#include "lunadb/error.hpp"
#include "sql/sqlite_driver.hpp"

namespace lunadb::vector::detail {

namespace {

[[noreturn]] void bad_filter(const std::string& message) {
  throw Error(ErrorKind::invalid_argument, message);
}

bool is_scalar(const Json& v) { return v.is_string() || v.is_number() || v.is_boolean(); }

bool beyond_int64(const Json& v) {
  return v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX);
}

[[noreturn]] void refuse_integer(const std::string& path, const std::string& key, const Json& value) {
  throw Error(ErrorKind::invalid_argument, path + ": the integer " + value.dump() + " on '" + key +
                                               "' is out of range: integers are 64-bit signed, in filters as in metadata");
}

// Operands beyond int64 could never equal a stored integer (metadata refuses them), and comparing
// them as doubles would round: refused, like metadata.
void check_integer_range(const Json& operand, const std::string& path, const std::string& key) {
  if (beyond_int64(operand)) refuse_integer(path, key, operand);
  if (operand.is_array()) {
    for (const auto& element : operand) {
      if (beyond_int64(element)) refuse_integer(path, key, element);
    }
  }
}

// nlohmann parses non-negative integers as unsigned and C++ code builds signed ones: both are
// "int" to users. False for floats and for unsigned values beyond int64 (rejected in metadata).
bool as_int64(const Json& v, std::int64_t& out) {
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return false;
    out = static_cast<std::int64_t>(u);
    return true;
  }
  if (v.is_number_integer()) {
    out = v.get<std::int64_t>();
    return true;
  }
  return false;
}

// -1, 0, 1 comparing an integer with a finite double exactly: converting the integer to double
// first would make 2^53 + 1 equal to 2^53.
int compare_int_double(std::int64_t i, double d) {
  constexpr double two_63 = 9223372036854775808.0;  // 2^63, exactly representable
  if (d >= two_63) return -1;
  if (d < -two_63) return 1;
  const double whole = std::trunc(d);  // |whole| < 2^63, so the cast is exact
  const auto t = static_cast<std::int64_t>(whole);
  if (i != t) return i < t ? -1 : 1;
  if (d > whole) return -1;
  if (d < whole) return 1;
  return 0;
}

// -1, 0, 1 for numbers (int and float compare across types, as ChromaDB checks both typed
// columns); nullopt when either side is not a number.
std::optional<int> numeric_compare(const Json& a, const Json& b) {
  if (!a.is_number() || !b.is_number()) return std::nullopt;
  std::int64_t x = 0, y = 0;
  const bool a_int = as_int64(a, x), b_int = as_int64(b, y);
  if (a_int && b_int) return x < y ? -1 : (x > y ? 1 : 0);
  if (a_int && b.is_number_float()) return compare_int_double(x, b.get<double>());
  if (b_int && a.is_number_float()) return -compare_int_double(y, a.get<double>());
  double dx = a.get<double>(), dy = b.get<double>();
  return dx < dy ? -1 : (dx > dy ? 1 : 0);
}

bool scalar_equal(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return numeric_compare(a, b) == 0;
  if (a.is_boolean() && b.is_boolean()) return a.get<bool>() == b.get<bool>();
  if (a.is_string() && b.is_string()) return a.get_ref<const std::string&>() == b.get_ref<const std::string&>();
  return false;
}

using Op = FilterOp;
using Compare = FilterCompare;
using DocText = FilterDocText;
using DocRegex = FilterDocRegex;
using Logical = FilterLogical;

}  // namespace

namespace {

// RE2's budget for one pattern: its compiled program and the DFA it builds while matching. With
// less, patterns with large counted repetitions fall back to the NFA, which stays linear in the
// document but by a factor of the program size (30 s for a{0,1000}a{0,1000}b on 1 MB at 8 MB,
// 0.08 s at 64 MB). The memory is taken only as a match needs it.
constexpr std::int64_t kRegexMaxMemory = 64 << 20;
// Instructions of one compiled pattern; a larger pattern is refused before any document is read.
constexpr int kRegexMaxProgram = 50'000;

const char* kWhereOps = "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $contains, $not_contains";

std::string shape(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace).substr(0, 120); }

std::unique_ptr<Filter::Node> compile_where(const Json& where, const std::string& path);
std::unique_ptr<Filter::Node> compile_document(const Json& where, const std::string& path);

std::unique_ptr<Filter::Node> compile_logical(const std::string& op, const Json& operand, const std::string& path,
                                              std::unique_ptr<Filter::Node> (*child)(const Json&, const std::string&)) {
  if (!operand.is_array() || operand.empty()) {
    bad_filter(path + ": " + op + " expects a non-empty list of clauses, got " + shape(operand));
  }
  Logical logical{op == "$and", {}};
  for (std::size_t i = 0; i < operand.size(); ++i) {
    logical.children.push_back(child(operand[i], path + "." + op + "[" + std::to_string(i) + "]"));
  }
  return std::make_unique<Filter::Node>(Filter::Node{std::move(logical)});
}

Op parse_where_op(const std::string& name, const std::string& path) {
  static const std::pair<const char*, Op> table[] = {
      {"$eq", Op::eq}, {"$ne", Op::ne}, {"$gt", Op::gt}, {"$gte", Op::gte}, {"$lt", Op::lt},
      {"$lte", Op::lte}, {"$in", Op::in}, {"$nin", Op::nin}, {"$contains", Op::contains},
      {"$not_contains", Op::not_contains}};
  for (const auto& [text, op] : table) {
    if (name == text) return op;
  }
  bad_filter(path + ": unknown operator '" + name + "' (expected one of " + kWhereOps + ")");
}

std::unique_ptr<Filter::Node> compile_comparison(const std::string& key, const Json& condition, const std::string& path) {
  if (is_scalar(condition)) {
    check_integer_range(condition, path, key);
    return std::make_unique<Filter::Node>(Filter::Node{Compare{key, Op::eq, condition}});
  }
  if (!condition.is_object() || condition.size() != 1) {
    bad_filter(path + ": the condition on '" + key +
               "' must be a string, number, boolean or an object with exactly one operator, got " + shape(condition));
  }
  const std::string& op_name = condition.begin().key();
  const Json& operand = condition.begin().value();
  Op op = parse_where_op(op_name, path);
  switch (op) {
    case Op::eq:
    case Op::ne:
    case Op::contains:
    case Op::not_contains:
      if (!is_scalar(operand)) bad_filter(path + ": " + op_name + " on '" + key + "' expects a string, number or boolean, got " + shape(operand));
      break;
    case Op::gt:
    case Op::gte:
    case Op::lt:
    case Op::lte:
      if (!operand.is_number()) bad_filter(path + ": " + op_name + " on '" + key + "' expects a number, got " + shape(operand));
      break;
    case Op::in:
    case Op::nin: {
      if (!operand.is_array() || operand.empty()) {
        bad_filter(path + ": " + op_name + " on '" + key + "' expects a non-empty list, got " + shape(operand));
      }
      auto kind = [](const Json& v) { return v.is_number() ? 0 : v.is_string() ? 1 : v.is_boolean() ? 2 : 3; };
      for (const auto& element : operand) {
        if (!is_scalar(element) || kind(element) != kind(operand[0])) {
          bad_filter(path + ": " + op_name + " on '" + key + "' expects a list of values of one type, got " + shape(operand));
        }
      }
      break;
    }
  }
  check_integer_range(operand, path, key);
  return std::make_unique<Filter::Node>(Filter::Node{Compare{key, op, operand}});
}

std::unique_ptr<Filter::Node> compile_where(const Json& where, const std::string& path) {
  if (!where.is_object()) bad_filter(path + ": expected an object, got " + shape(where));
  if (where.size() != 1) {
    bad_filter(path + ": expected exactly one key (combine conditions with $and / $or), got " + shape(where));
  }
  const std::string& key = where.begin().key();
  const Json& value = where.begin().value();
  if (key == "$and" || key == "$or") return compile_logical(key, value, path, &compile_where);
  // Chroma reads {"#document": {...}} inside `where` as a document filter.
  if (key == "#document") return compile_document(value, path + ".#document");
  if (key.empty()) bad_filter(path + ": empty metadata key");
  if (key[0] == '$') {
    bad_filter(path + ": unknown operator '" + key + "' at the top of a where clause (expected $and, $or or a metadata key)");
  }
  return compile_comparison(key, value, path);
}

std::unique_ptr<Filter::Node> compile_document(const Json& where, const std::string& path) {
  if (!where.is_object() || where.size() != 1) {
    bad_filter(path + ": expected an object with exactly one operator, got " + shape(where));
  }
  const std::string& op = where.begin().key();
  const Json& operand = where.begin().value();
  if (op == "$and" || op == "$or") return compile_logical(op, operand, path, &compile_document);
  bool text_op = op == "$contains" || op == "$not_contains";
  bool regex_op = op == "$regex" || op == "$not_regex";
  if (!text_op && !regex_op) {
    bad_filter(path + ": unknown operator '" + op + "' (expected $contains, $not_contains, $regex, $not_regex, $and, $or)");
  }
  if (!operand.is_string() || operand.get_ref<const std::string&>().empty()) {
    bad_filter(path + ": " + op + " expects a non-empty string, got " + shape(operand));
  }
  const std::string& text = operand.get_ref<const std::string&>();
  bool negate = op.rfind("$not_", 0) == 0;
  if (text_op) return std::make_unique<Filter::Node>(Filter::Node{DocText{text, negate}});
  if (!sql::is_valid_utf8(text)) bad_filter(path + ": the regular expression is not valid UTF-8");
  // RE2 matches in time linear in the document and in bounded memory, on UTF-8 characters (what
  // Chroma's Rust regex crate does too); std::regex recursed once per character and overflowed
  // the stack on documents of a few tens of kilobytes.
  re2::RE2::Options options;
  options.set_encoding(re2::RE2::Options::EncodingUTF8);
  options.set_log_errors(false);
  options.set_never_capture(true);
  options.set_max_mem(kRegexMaxMemory);
  auto pattern = std::make_shared<const re2::RE2>(text, options);
  if (!pattern->ok()) {
    bad_filter(path + ": invalid regular expression " + shape(operand) + ": " + pattern->error() +
               " (RE2 syntax; docs/vector-store.md, \"Differences from ChromaDB\")");
  }
  if (pattern->ProgramSize() > kRegexMaxProgram) {
    bad_filter(path + ": regular expression " + shape(operand) + " is too large (" +
               std::to_string(pattern->ProgramSize()) + " RE2 instructions, at most " + std::to_string(kRegexMaxProgram) + ")");
  }
  return std::make_unique<Filter::Node>(Filter::Node{DocRegex{std::move(pattern), negate}});
}

bool list_contains(const Json& list, const Json& needle) {
  for (const auto& element : list) {
    if (scalar_equal(element, needle)) return true;
  }
  return false;
}

bool eval_compare(const Compare& c, const Json& metadata) {
  const Json* value = nullptr;
  if (metadata.is_object()) {
    auto it = metadata.find(c.key);
    if (it != metadata.end()) value = &*it;
  }
  // Negated operators are "not in the set of records that match", so a missing key matches.
  switch (c.op) {
    case Op::eq: return value && scalar_equal(*value, c.operand);
    case Op::ne: return !(value && scalar_equal(*value, c.operand));
    case Op::in: return value && list_contains(c.operand, *value);
    case Op::nin: return !(value && list_contains(c.operand, *value));
    case Op::contains: return value && value->is_array() && list_contains(*value, c.operand);
    case Op::not_contains: return !(value && value->is_array() && list_contains(*value, c.operand));
    case Op::gt:
    case Op::gte:
    case Op::lt:
    case Op::lte: {
      if (!value) return false;
      auto order = numeric_compare(*value, c.operand);
      if (!order) return false;
      if (c.op == Op::gt) return *order > 0;
      if (c.op == Op::gte) return *order >= 0;
      if (c.op == Op::lt) return *order < 0;
      return *order <= 0;
    }
  }
  return false;
}

bool eval(const Filter::Node& node, const Json& metadata, const std::optional<std::string>& document) {
  return std::visit(
      [&](const auto& body) -> bool {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, Compare>) {
          return eval_compare(body, metadata);
        } else if constexpr (std::is_same_v<T, DocText>) {
          bool found = document && document->find(body.needle) != std::string::npos;
          return found != body.negate;
        } else if constexpr (std::is_same_v<T, DocRegex>) {
          bool found = document && re2::RE2::PartialMatch(*document, *body.pattern);
          return found != body.negate;
        } else {
          for (const auto& child : body.children) {
            bool r = eval(*child, metadata, document);
            if (body.is_and && !r) return false;
            if (!body.is_and && r) return true;
          }
          return body.is_and;
        }
      },
      node.body);
}

}  // namespace

Filter::Filter() = default;
Filter::~Filter() = default;
Filter::Filter(Filter&&) noexcept = default;
Filter& Filter::operator=(Filter&&) noexcept = default;

Filter Filter::compile(const Json& where, const Json& where_document) {
  Filter f;
  if (!where.is_null()) f.where_ = compile_where(where, "where");
  if (!where_document.is_null()) f.document_ = compile_document(where_document, "where_document");
  return f;
}

bool Filter::matches(const Json& metadata, const std::optional<std::string>& document) const {
  if (where_ && !eval(*where_, metadata, document)) return false;
  if (document_ && !eval(*document_, metadata, document)) return false;
  return true;
}

namespace {

bool valid_scalar(const Json& v) {
  if (v.is_string()) return sql::is_valid_utf8(v.get_ref<const std::string&>());
  if (v.is_boolean()) return true;
  if (v.is_number_unsigned()) return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX);
  if (v.is_number_integer()) return true;
  if (v.is_number_float()) return std::isfinite(v.get<double>());
  return false;
}

}  // namespace

void validate_metadata(const Json& metadata, bool allow_null, const std::string& context) {
  if (metadata.is_null()) return;
  if (!metadata.is_object()) {
    throw Error(ErrorKind::invalid_argument, context + ": metadata must be a JSON object, got " + shape(metadata));
  }
  for (auto it = metadata.begin(); it != metadata.end(); ++it) {
    const std::string& key = it.key();
    const Json& value = it.value();
    if (key.empty() || key[0] == '$' || key[0] == '#' || !sql::is_valid_utf8(key)) {
      throw Error(ErrorKind::invalid_argument,
                  context + ": metadata key '" + key + "' is not allowed (keys are non-empty UTF-8 and do not start with '$' or '#')");
    }
    if (value.is_null()) {
      if (allow_null) continue;
      throw Error(ErrorKind::invalid_argument, context + ": metadata key '" + key + "' is null");
    }
    if (valid_scalar(value)) continue;
    if (beyond_int64(value) || (value.is_array() && std::any_of(value.begin(), value.end(), beyond_int64))) {
      throw Error(ErrorKind::invalid_argument, context + ": metadata key '" + key +
                                                   "' holds an integer beyond 9223372036854775807: integers are 64-bit signed");
    }
    if (value.is_array() && !value.empty()) {
      bool same_type = true;
      for (const auto& element : value) {
        if (!valid_scalar(element) || element.type() != value[0].type()) {
          // integers and unsigned integers are one type for users
          bool both_ints = element.is_number_integer() && value[0].is_number_integer();
          if (!valid_scalar(element) || !both_ints) same_type = false;
        }
      }
      if (same_type) continue;
    }
    throw Error(ErrorKind::invalid_argument,
                context + ": metadata key '" + key +
                    "' must be a UTF-8 string, integer, finite float, boolean or a non-empty list of one of those types, got " +
                    shape(value));
  }
}

Json normalise_metadata(const Json& metadata) {
  if (!metadata.is_object()) return nullptr;
  Json out = Json::object();
  for (auto it = metadata.begin(); it != metadata.end(); ++it) {
    if (!it.value().is_null()) out[it.key()] = it.value();
  }
  if (out.empty()) return nullptr;
  return out;
}

Json merge_metadata(const Json& base, const Json& patch) {
  Json out = base.is_object() ? base : Json::object();
  if (patch.is_object()) {
    for (auto it = patch.begin(); it != patch.end(); ++it) {
      if (it.value().is_null()) {
        out.erase(it.key());
      } else {
        out[it.key()] = it.value();
      }
    }
  }
  if (out.empty()) return nullptr;
  return out;
}

}  // namespace lunadb::vector::detail
