#include "pgvector/sql_text.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "lunadb/error.hpp"

namespace lunadb::pgvector {

std::string vector_literal(const std::vector<float>& v) {
  std::string out;
  out.reserve(v.size() * 12 + 2);
  out += '[';
  char buffer[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), v[i]);
    out.append(buffer, end);
  }
  out += ']';
  return out;
}

sql::Blob binary_vector(const std::vector<float>& v) {
  sql::Blob blob;
  blob.bytes.resize(4 + 4 * v.size());
  std::uint8_t* p = blob.bytes.data();
  p[0] = static_cast<std::uint8_t>(v.size() >> 8);
  p[1] = static_cast<std::uint8_t>(v.size());
  p += 4;  // the unused int16 stays 0, as vector_recv requires
  for (const float x : v) {
    const auto bits = std::bit_cast<std::uint32_t>(x);
    p[0] = static_cast<std::uint8_t>(bits >> 24);
    p[1] = static_cast<std::uint8_t>(bits >> 16);
    p[2] = static_cast<std::uint8_t>(bits >> 8);
    p[3] = static_cast<std::uint8_t>(bits);
    p += 4;
  }
  return blob;
}

sql::Blob binary_jsonb(const std::string& json_text) {
  sql::Blob blob;
  blob.bytes.reserve(json_text.size() + 1);
  blob.bytes.push_back(1);
  blob.bytes.insert(blob.bytes.end(), json_text.begin(), json_text.end());
  return blob;
}

std::vector<float> parse_binary_vector(const sql::Blob& blob) {
  const auto& b = blob.bytes;
  if (b.size() < 4) throw Error(ErrorKind::internal, "pgvector returned a vector of " + std::to_string(b.size()) + " bytes");
  const std::size_t dim = (std::size_t{b[0]} << 8) | b[1];
  if (b.size() != 4 + 4 * dim) throw Error(ErrorKind::internal, "pgvector returned a vector whose size does not match its dimension");
  std::vector<float> out(dim);
  for (std::size_t i = 0; i < dim; ++i) {
    const std::uint8_t* p = b.data() + 4 + 4 * i;
    const std::uint32_t bits = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
    std::memcpy(&out[i], &bits, 4);
  }
  return out;
}

namespace {

void write_exact(const vector::Json& value, std::string& out) {
  if (value.is_object()) {
    out += '{';
    bool first = true;
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (!first) out += ',';
      first = false;
      out += vector::Json(it.key()).dump();
      out += ':';
      write_exact(it.value(), out);
    }
    out += '}';
  } else if (value.is_array()) {
    out += '[';
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (i > 0) out += ',';
      write_exact(value[i], out);
    }
    out += ']';
  } else if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && std::trunc(d) == d) {
      // Every integral double has a finite decimal expansion; %.0f prints it exactly (glibc).
      char buffer[400];
      std::snprintf(buffer, sizeof(buffer), "%.0f", d);
      out += buffer;
      out += ".0";
    } else {
      // Non-integral: the shortest form differs from the exact value by less than half an ulp, so
      // no integer lies between them and comparisons with integers come out the same.
      out += value.dump();
    }
  } else {
    out += value.dump(-1, ' ', false, vector::Json::error_handler_t::strict);
  }
}

}  // namespace

std::string exact_json(const vector::Json& value) {
  std::string out;
  write_exact(value, out);
  return out;
}

}  // namespace lunadb::pgvector
