#include "backup/logical_dump.hpp"

#include <zlib.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backup/table_copy.hpp"
#include "lunadb/error.hpp"
#include "vector/io.hpp"

namespace lunadb::backup::detail {
namespace fs = std::filesystem;
using Json = nlohmann::json;
using schema::TypeKind;

namespace {

// Rows per page read from the server, and the writer's buffer: memory stays bounded.
constexpr std::size_t kPageRows = 5000;
constexpr unsigned kGzipBuffer = 1u << 18;
// Level 1: compression is far cheaper than the bytes it saves on disk, and a dump is written
// on every backup while it is read only on a restore.
constexpr int kGzipLevel = 1;

[[noreturn]] void write_failed(const fs::path& file, gzFile gz) {
  int zerr = Z_OK;
  const char* message = gz ? gzerror(gz, &zerr) : nullptr;
  const int saved = errno;
  std::string why = zerr == Z_ERRNO || !message ? std::strerror(saved) : message;
  throw Error(ErrorKind::io, file.string() + ": write failed (is the disk full?): " + why);
}

Json encode(const sql::Value& v) {
  if (sql::is_null(v)) return nullptr;
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) {
    // JSON has no NaN or infinities; a real column's string is one of those three.
    if (std::isnan(*d)) return "NaN";
    if (std::isinf(*d)) return *d > 0 ? "Infinity" : "-Infinity";
    return *d;
  }
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* t = std::get_if<sql::Timestamp>(&v)) return sql::format_timestamp(*t);
  if (const auto* blob = std::get_if<sql::Blob>(&v)) {
    std::string hex;
    hex.reserve(blob->bytes.size() * 2);
    for (auto byte : blob->bytes) hex += fmt::format("{:02x}", byte);
    return hex;
  }
  return nullptr;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The value of `column` in a row line, typed as the column is; nullopt when the JSON does not fit.
std::optional<sql::Value> decode(const schema::Column& column, const Json& j) {
  if (j.is_null()) return sql::Value{};
  switch (column.type.kind) {
    case TypeKind::id:
    case TypeKind::smallint:
    case TypeKind::integer:
    case TypeKind::bigint:
      if (j.is_number_integer()) return sql::Value{j.get<std::int64_t>()};
      return std::nullopt;
    case TypeKind::real:
      if (j.is_number()) return sql::Value{j.get<double>()};
      if (j.is_string()) {
        const auto& s = j.get_ref<const std::string&>();
        if (s == "NaN") return sql::Value{std::nan("")};
        if (s == "Infinity") return sql::Value{HUGE_VAL};
        if (s == "-Infinity") return sql::Value{-HUGE_VAL};
      }
      return std::nullopt;
    case TypeKind::boolean:
      if (j.is_boolean()) return sql::Value{j.get<bool>()};
      return std::nullopt;
    case TypeKind::string:
    case TypeKind::text:
    case TypeKind::json:
      if (j.is_string()) return sql::Value{j.get<std::string>()};
      return std::nullopt;
    case TypeKind::timestamp:
      if (!j.is_string()) return std::nullopt;
      try {
        return sql::Value{sql::parse_timestamp(j.get_ref<const std::string&>())};
      } catch (const Error&) {
        return std::nullopt;
      }
    case TypeKind::blob: {
      if (!j.is_string()) return std::nullopt;
      const auto& hex = j.get_ref<const std::string&>();
      if (hex.size() % 2) return std::nullopt;
      sql::Blob blob;
      blob.bytes.reserve(hex.size() / 2);
      for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        blob.bytes.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
      }
      return sql::Value{std::move(blob)};
    }
  }
  return std::nullopt;
}

}  // namespace

const schema::Table& alembic_version_table() {
  static const schema::Table table = [] {
    schema::Table t;
    t.name = "alembic_version";
    t.columns.push_back({"version_num", {TypeKind::string, 32}, false, {}});
    t.primary_key = {"version_num"};
    return t;
  }();
  return table;
}

DumpedTable dump_table(sql::Connection& source, const schema::Table& table, const fs::path& file) {
  gzFile gz = gzopen(file.c_str(), fmt::format("wb{}", kGzipLevel).c_str());
  if (!gz) throw Error(ErrorKind::io, file.string() + ": cannot create: " + std::strerror(errno));
  struct Closer {
    gzFile& gz;
    ~Closer() {
      if (gz) gzclose(gz);
    }
  } closer{gz};
  gzbuffer(gz, kGzipBuffer);
  auto write_line = [&](const std::string& line) {
    if (gzwrite(gz, line.data(), static_cast<unsigned>(line.size())) != static_cast<int>(line.size()) || gzputc(gz, '\n') != '\n') {
      write_failed(file, gz);
    }
  };

  Json header;
  header["lunadb_dump"] = kDumpFormat;
  header["table"] = table.name;
  header["columns"] = Json::array();
  for (const auto& c : table.columns) {
    Json column{{"name", c.name}, {"type", std::string(schema::type_kind_name(c.type.kind))}};
    if (c.type.length > 0) column["length"] = c.type.length;
    column["nullable"] = c.nullable;
    header["columns"].push_back(std::move(column));
  }
  header["primary_key"] = table.primary_key;
  // References between tables, so that a restore can order and defer them (facts.superseded_by
  // may point at a later fact) without the schema of the lunadb that wrote the dump.
  header["foreign_keys"] = Json::array();
  for (const auto& fk : table.foreign_keys) header["foreign_keys"].push_back({{"columns", fk.columns}, {"references", fk.referred_table}});
  write_line(header.dump());

  DumpedTable out;
  out.name = table.name;
  RowDigest digest;
  std::string line;
  for_each_row(source, table, kPageRows, [&](std::vector<sql::Value>&& row) {
    digest.add_row(table, row);
    Json array = Json::array();
    for (const auto& value : row) array.push_back(encode(value));
    try {
      line = array.dump();
    } catch (const Json::exception&) {
      throw Error(ErrorKind::invalid_argument, fmt::format("table {}: row {} holds text that is not valid UTF-8; it cannot be dumped", table.name,
                                                           out.rows + 1));
    }
    write_line(line);
    ++out.rows;
  });
  out.sha256 = digest.hex();
  write_line(Json{{"end", true}, {"rows", out.rows}, {"sha256", out.sha256}}.dump());
  const int closed = gzclose(gz);
  gz = nullptr;
  if (closed != Z_OK) write_failed(file, nullptr);
  vector::detail::fsync_file(file);
  return out;
}

DumpReader::DumpReader(const fs::path& file) : file_(file) {
  gzFile gz = gzopen(file.c_str(), "rb");
  if (!gz) throw Error(ErrorKind::io, file.string() + ": cannot read: " + std::strerror(errno));
  gz_ = gz;
  gzbuffer(gz, kGzipBuffer);
  std::string line;
  if (!next_line(line)) corrupt("empty, not a lunadb dump");
  const Json header = Json::parse(line, nullptr, false);
  if (header.is_discarded() || !header.is_object() || !header.contains("lunadb_dump")) corrupt("not a lunadb dump (no header)");
  if (!header["lunadb_dump"].is_number_integer() || header["lunadb_dump"].get<int>() > kDumpFormat) {
    corrupt(fmt::format("written by a newer lunadb (dump format {}; this lunadb reads format {})", header["lunadb_dump"].dump(), kDumpFormat));
  }
  try {
    table_.name = header.at("table").get<std::string>();
    for (const auto& c : header.at("columns")) {
      const auto kind = schema::type_kind_from_name(c.at("type").get<std::string>());
      if (!kind) corrupt("unknown column type " + c.at("type").dump());
      schema::Column column;
      column.name = c.at("name").get<std::string>();
      column.type = {*kind, c.value("length", 0)};
      column.nullable = c.value("nullable", true);
      table_.columns.push_back(std::move(column));
    }
    table_.primary_key = header.at("primary_key").get<std::vector<std::string>>();
    if (header.contains("foreign_keys")) {
      for (const auto& fk : header.at("foreign_keys")) {
        schema::ForeignKey key;
        key.columns = fk.at("columns").get<std::vector<std::string>>();
        key.referred_table = fk.at("references").get<std::string>();
        key.referred_columns = {"id"};
        table_.foreign_keys.push_back(std::move(key));
      }
    }
  } catch (const Json::exception& e) {
    corrupt(std::string("bad header: ") + e.what());
  }
  if (table_.columns.empty()) corrupt("bad header: no columns");
}

DumpReader::~DumpReader() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

void DumpReader::corrupt(const std::string& what) const {
  throw Error(ErrorKind::corrupt, fmt::format("{}: line {}: {}", file_.string(), line_number_, what));
}

bool DumpReader::next_line(std::string& line) {
  line.clear();
  for (;;) {
    const std::size_t newline = buffer_.find('\n', buffer_pos_);
    if (newline != std::string::npos) {
      line.append(buffer_, buffer_pos_, newline - buffer_pos_);
      buffer_pos_ = newline + 1;
      ++line_number_;
      return true;
    }
    line.append(buffer_, buffer_pos_, std::string::npos);
    buffer_.clear();
    buffer_pos_ = 0;
    if (eof_) {
      if (!line.empty()) corrupt("the file ends inside a line (truncated)");
      return false;
    }
    buffer_.resize(kGzipBuffer);
    const int got = gzread(static_cast<gzFile>(gz_), buffer_.data(), static_cast<unsigned>(buffer_.size()));
    if (got < 0) {
      int zerr = Z_OK;
      const char* message = gzerror(static_cast<gzFile>(gz_), &zerr);
      corrupt(std::string("cannot be decompressed: ") + (zerr == Z_ERRNO ? std::strerror(errno) : message));
    }
    buffer_.resize(static_cast<std::size_t>(got));
    if (got == 0) {
      // gzread returns 0 at the end, and also when the compressed stream was cut short.
      int zerr = Z_OK;
      gzerror(static_cast<gzFile>(gz_), &zerr);
      if (zerr != Z_OK && zerr != Z_STREAM_END) corrupt("cannot be decompressed (truncated or damaged)");
      eof_ = true;
    }
  }
}

DumpedTable DumpReader::read_rows(const std::function<void(std::vector<sql::Value>&&)>& row) {
  DumpedTable out;
  out.name = table_.name;
  RowDigest digest;
  std::string line;
  while (next_line(line)) {
    const Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded()) corrupt("not valid JSON");
    if (j.is_object()) {  // the trailer
      if (!j.value("end", false) || !j.contains("rows") || !j.contains("sha256")) corrupt("unexpected object");
      out.sha256 = digest.hex();
      if (j["rows"] != out.rows) corrupt(fmt::format("the trailer says {} rows, the file holds {}", j["rows"].dump(), out.rows));
      if (j["sha256"] != out.sha256) corrupt("the rows do not match the trailer's checksum");
      if (next_line(line)) corrupt("data after the trailer");
      return out;
    }
    if (!j.is_array() || j.size() != table_.columns.size()) corrupt(fmt::format("a row must be an array of {} values", table_.columns.size()));
    std::vector<sql::Value> values;
    values.reserve(j.size());
    for (std::size_t c = 0; c < j.size(); ++c) {
      auto v = decode(table_.columns[c], j[c]);
      if (!v) corrupt(fmt::format("column {}: {} is not a {} value", table_.columns[c].name, j[c].dump(), schema::type_kind_name(table_.columns[c].type.kind)));
      values.push_back(std::move(*v));
    }
    digest.add_row(table_, values);
    ++out.rows;
    row(std::move(values));
  }
  corrupt("the file ends before its trailer (truncated)");
}

}  // namespace lunadb::backup::detail
