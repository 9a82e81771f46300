#include "vector/dataset_file.hpp"

#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "lunadb/error.hpp"

namespace lunadb::vector::detail {

// The formats are little-endian and the values are copied as they lie in the file.
static_assert(std::endian::native == std::endian::little, "dataset_file reads little-endian files by memcpy");

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(ErrorKind kind, const fs::path& file, const std::string& what) {
  throw Error(kind, "vector file " + file.string() + ": " + what);
}

std::ifstream open_for_reading(const fs::path& file, std::uintmax_t& size) {
  std::error_code ec;
  if (!fs::exists(file, ec)) fail(ErrorKind::not_found, file, "does not exist");
  if (fs::is_directory(file, ec)) fail(ErrorKind::usage, file, "is a folder, not a file");
  size = fs::file_size(file, ec);
  if (ec) fail(ErrorKind::io, file, "cannot read its size: " + ec.message());
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(ErrorKind::io, file, "cannot be opened for reading");
  return in;
}

void read_exactly(std::ifstream& in, const fs::path& file, void* out, std::size_t bytes, const std::string& what) {
  in.read(static_cast<char*>(out), static_cast<std::streamsize>(bytes));
  if (static_cast<std::size_t>(in.gcount()) != bytes) fail(ErrorKind::corrupt, file, "truncated in " + what);
}

void check_finite(const FloatMatrix& matrix, const fs::path& file) {
  for (std::size_t i = 0; i < matrix.values.size(); ++i) {
    if (!std::isfinite(matrix.values[i])) {
      fail(ErrorKind::invalid_argument, file,
           "row " + std::to_string(i / matrix.cols) + ", column " + std::to_string(i % matrix.cols) + " is NaN or infinite");
    }
  }
}

// The header of a .npy file is a Python dict literal, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (1000, 384), }
// This parser takes the subset NumPy writes: string keys, string / bool / tuple-of-int values.
class NpyHeaderParser {
 public:
  NpyHeaderParser(std::string_view text, const fs::path& file) : text_(text), file_(file) {}

  struct Header {
    std::string descr;
    bool fortran_order = false;
    std::vector<std::uint64_t> shape;
  };

  Header parse() {
    Header header;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      skip_space();
      if (key == "descr") {
        header.descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        header.shape = int_tuple();
        have_shape = true;
      } else {
        bad("an unknown key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') ++pos_;
    }
    if (!have_descr || !have_order || !have_shape) bad("the keys descr, fortran_order and shape are not all there");
    return header;
  }

 private:
  [[noreturn]] void bad(const std::string& what) {
    fail(ErrorKind::corrupt, file_, "malformed .npy header (" + what + " at offset " + std::to_string(pos_) + ")");
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  char peek() {
    if (pos_ >= text_.size()) bad("unexpected end");
    return text_[pos_];
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) bad(std::string("'") + c + "' expected");
    ++pos_;
  }
  std::string string_literal() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') bad("a quoted string expected");
    const auto end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) bad("an unterminated string");
    std::string out(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    for (std::string_view word : {"True", "False"}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return word == "True";
      }
    }
    bad("True or False expected");
  }
  std::vector<std::uint64_t> int_tuple() {
    expect('(');
    std::vector<std::uint64_t> out;
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) bad("a dimension expected");
      std::uint64_t value = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        const auto digit = static_cast<std::uint64_t>(text_[pos_] - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) bad("a dimension too large");
        value = value * 10 + digit;
        ++pos_;
      }
      out.push_back(value);
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != ')') {
        bad("',' or ')' expected in the shape");
      }
    }
    ++pos_;
    return out;
  }

  std::string_view text_;
  const fs::path& file_;
  std::size_t pos_ = 0;
};

std::uint32_t little_endian(const unsigned char* bytes, std::size_t count) {
  std::uint32_t value = 0;
  for (std::size_t i = count; i-- > 0;) value = (value << 8) | bytes[i];
  return value;
}

// Reads the int32-prefixed rows of .fvecs / .ivecs: every row must have the first row's width.
template <typename Value>
RowMatrix<Value> read_prefixed_rows(const fs::path& file, const char* format) {
  std::uintmax_t size = 0;
  auto in = open_for_reading(file, size);
  if (size == 0) fail(ErrorKind::corrupt, file, std::string("is empty (no rows); a ") + format + " file needs at least one");
  RowMatrix<Value> matrix;
  std::int32_t width = 0;
  read_exactly(in, file, &width, sizeof width, "the first row's dimension");
  if (width <= 0) {
    fail(ErrorKind::corrupt, file, "row 0 declares dimension " + std::to_string(width) + " (not a " + format + " file?)");
  }
  matrix.cols = static_cast<std::size_t>(width);
  const std::uintmax_t row_bytes = sizeof(std::int32_t) + matrix.cols * sizeof(Value);
  if (size % row_bytes != 0) {
    fail(ErrorKind::corrupt, file,
         "its size " + std::to_string(size) + " is not a whole number of rows of dimension " + std::to_string(width) + " (" +
             std::to_string(row_bytes) + " bytes each): truncated, or rows of different dimensions");
  }
  matrix.rows = static_cast<std::size_t>(size / row_bytes);
  matrix.values.resize(matrix.rows * matrix.cols);
  for (std::size_t r = 0; r < matrix.rows; ++r) {
    if (r > 0) {
      std::int32_t this_width = 0;
      read_exactly(in, file, &this_width, sizeof this_width, "row " + std::to_string(r));
      if (this_width != width) {
        fail(ErrorKind::corrupt, file,
             "row " + std::to_string(r) + " has dimension " + std::to_string(this_width) + " but row 0 has " + std::to_string(width));
      }
    }
    read_exactly(in, file, matrix.values.data() + r * matrix.cols, matrix.cols * sizeof(Value), "row " + std::to_string(r));
  }
  return matrix;
}

template <typename Value>
void write_prefixed_rows(const fs::path& file, const RowMatrix<Value>& matrix) {
  if (matrix.rows == 0 || matrix.cols == 0) fail(ErrorKind::invalid_argument, file, "nothing to write (no rows or no columns)");
  if (matrix.cols > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()) ||
      matrix.values.size() != matrix.rows * matrix.cols) {
    fail(ErrorKind::invalid_argument, file, "the matrix shape cannot be written");
  }
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) fail(ErrorKind::io, file, "cannot be opened for writing");
  const auto width = static_cast<std::int32_t>(matrix.cols);
  for (std::size_t r = 0; r < matrix.rows; ++r) {
    out.write(reinterpret_cast<const char*>(&width), sizeof width);
    out.write(reinterpret_cast<const char*>(matrix.values.data() + r * matrix.cols),
              static_cast<std::streamsize>(matrix.cols * sizeof(Value)));
  }
  out.close();
  if (!out) fail(ErrorKind::io, file, "could not be written completely (disk full?)");
}

}  // namespace

FloatMatrix read_npy(const fs::path& file) {
  std::uintmax_t size = 0;
  auto in = open_for_reading(file, size);
  if (size == 0) fail(ErrorKind::corrupt, file, "is empty (not a .npy file)");
  unsigned char preamble[12] = {};
  constexpr unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  in.read(reinterpret_cast<char*>(preamble), 8);
  if (in.gcount() < 6 || std::memcmp(preamble, magic, sizeof magic) != 0) {
    fail(ErrorKind::corrupt, file, "does not start with the .npy magic \\x93NUMPY");
  }
  if (in.gcount() < 8) fail(ErrorKind::corrupt, file, "truncated in the .npy preamble");
  const int major = preamble[6];
  if (major < 1 || major > 3) {
    fail(ErrorKind::unsupported, file, ".npy format version " + std::to_string(major) + "." + std::to_string(preamble[7]) +
                                           " (1.0, 2.0 and 3.0 are read)");
  }
  // Version 1 has a 2-byte header length, versions 2 and 3 a 4-byte one.
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  read_exactly(in, file, preamble + 8, length_bytes, "the .npy header length");
  const std::uint64_t header_length = little_endian(preamble + 8, length_bytes);
  const std::uint64_t data_offset = 8 + length_bytes + header_length;
  if (data_offset > size) fail(ErrorKind::corrupt, file, "truncated in the .npy header");
  std::string header_text(static_cast<std::size_t>(header_length), '\0');
  read_exactly(in, file, header_text.data(), header_text.size(), "the .npy header");
  const auto header = NpyHeaderParser(header_text, file).parse();

  if (header.descr != "<f4") {
    fail(ErrorKind::unsupported, file,
         "dtype '" + header.descr + "'; little-endian float32 ('<f4') is read: convert with array.astype('<f4')");
  }
  if (header.fortran_order) {
    fail(ErrorKind::unsupported, file, "is in Fortran (column-major) order; save np.ascontiguousarray(array) instead");
  }
  if (header.shape.size() != 2) {
    fail(ErrorKind::unsupported, file, "has " + std::to_string(header.shape.size()) + " dimensions; a 2-D array (rows, dim) is read");
  }
  const std::uint64_t rows = header.shape[0], cols = header.shape[1];
  if (rows == 0 || cols == 0) {
    fail(ErrorKind::corrupt, file, "is empty (shape (" + std::to_string(rows) + ", " + std::to_string(cols) + "))");
  }
  const std::uint64_t available = size - data_offset;
  // Compared by division: rows * cols * 4 may overflow for a corrupt shape.
  if (available / sizeof(float) / cols < rows) {
    fail(ErrorKind::corrupt, file,
         "truncated: shape (" + std::to_string(rows) + ", " + std::to_string(cols) + ") needs " +
             std::to_string(rows * cols * sizeof(float)) + " bytes of data, the file has " + std::to_string(available));
  }
  if (available != rows * cols * sizeof(float)) {
    fail(ErrorKind::corrupt, file,
         std::to_string(available - rows * cols * sizeof(float)) + " bytes after the data of shape (" + std::to_string(rows) + ", " +
             std::to_string(cols) + ")");
  }
  FloatMatrix matrix;
  matrix.rows = static_cast<std::size_t>(rows);
  matrix.cols = static_cast<std::size_t>(cols);
  matrix.values.resize(matrix.rows * matrix.cols);
  read_exactly(in, file, matrix.values.data(), matrix.values.size() * sizeof(float), "the data");
  check_finite(matrix, file);
  return matrix;
}

FloatMatrix read_fvecs(const fs::path& file) {
  auto matrix = read_prefixed_rows<float>(file, ".fvecs");
  check_finite(matrix, file);
  return matrix;
}

IdMatrix read_ivecs(const fs::path& file) { return read_prefixed_rows<std::int32_t>(file, ".ivecs"); }

FloatMatrix read_vectors_file(const fs::path& file) {
  const auto extension = file.extension().string();
  if (extension == ".npy") return read_npy(file);
  if (extension == ".fvecs") return read_fvecs(file);
  fail(ErrorKind::usage, file, "unknown extension '" + extension + "'; .npy (float32) and .fvecs are read");
}

void write_fvecs(const fs::path& file, const FloatMatrix& matrix) { write_prefixed_rows(file, matrix); }
void write_ivecs(const fs::path& file, const IdMatrix& matrix) { write_prefixed_rows(file, matrix); }

}  // namespace lunadb::vector::detail
