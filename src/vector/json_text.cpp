// JSON text as the vector store reads it from users: nlohmann's grammar, plus one rule of ours.
// Metadata integers and filter operands are 64-bit signed. nlohmann keeps 2^63 .. 2^64-1 as
// unsigned (refused later, by metadata and filter validation) but silently turns a longer integer
// literal into a double, so 18446744073709551616 would be stored as 1.8446744073709552e19. Only
// the text still shows that it was an integer, so the check happens while parsing: a SAX handler
// that builds the same DOM as Json::parse and stops at such a literal.

#include <cstdint>
#include <string>
#include <vector>

#include "lunadb/error.hpp"
#include "lunadb/vector.hpp"

namespace lunadb::vector {
namespace {

class StrictBuilder final : public nlohmann::json_sax<Json> {
 public:
  Json root;
  std::string refused_integer;  // the literal that stopped the parse
  std::size_t error_byte = 0;
  std::string error_text;

  bool null() override { return insert(nullptr); }
  bool boolean(bool value) override { return insert(value); }
  bool number_integer(number_integer_t value) override { return insert(value); }
  bool number_unsigned(number_unsigned_t value) override { return insert(value); }
  bool number_float(number_float_t value, const string_t& literal) override {
    if (literal.find_first_of(".eE") == string_t::npos) {
      refused_integer = literal;
      return false;
    }
    return insert(value);
  }
  bool string(string_t& value) override { return insert(std::move(value)); }
  bool binary(binary_t& value) override { return insert(Json::binary(std::move(value))); }
  bool start_object(std::size_t) override { return open(Json::object()); }
  bool key(string_t& name) override {
    key_ = std::move(name);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(Json::array()); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    error_byte = position;
    error_text = e.what();
    return false;
  }

 private:
  // Pointers stay valid: only the innermost open container is ever modified, and the ones on the
  // stack are its ancestors.
  Json* place(Json value) {
    if (open_.empty()) {
      root = std::move(value);
      return &root;
    }
    Json& parent = *open_.back();
    if (parent.is_object()) {
      Json& slot = parent[key_];
      slot = std::move(value);
      return &slot;
    }
    parent.push_back(std::move(value));
    return &parent.back();
  }
  bool insert(Json value) {
    place(std::move(value));
    return true;
  }
  bool open(Json container) {
    open_.push_back(place(std::move(container)));
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }

  std::vector<Json*> open_;
  std::string key_;
};

}  // namespace

Json parse_json(std::string_view text, std::string_view what) {
  StrictBuilder builder;
  const bool parsed = Json::sax_parse(text, &builder, Json::input_format_t::json, true, false);
  if (parsed) return std::move(builder.root);
  if (!builder.refused_integer.empty()) {
    throw Error(ErrorKind::invalid_argument,
                std::string(what) + ": the integer " + builder.refused_integer +
                    " is out of range: integers are 64-bit signed (-9223372036854775808 to 9223372036854775807); write it as a "
                    "float (with a decimal point) or a string");
  }
  throw Error(ErrorKind::invalid_argument,
              std::string(what) + " is not valid JSON (at byte " + std::to_string(builder.error_byte) + "): " + builder.error_text);
}

}  // namespace lunadb::vector
