// The benchmark's data set files: .npy (as NumPy writes it), .fvecs and .ivecs, read back what was
// written, and every kind of bad file refused with a typed error naming the file and the fault.

#include "vector/dataset_file.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "lunadb/error.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using lunadb::Error;
using lunadb::ErrorKind;
using lunadb::test::TempDir;
using namespace lunadb::vector::detail;

// np.save(f, np.array([[1.5, -2.0], [0.25, 3.0], [7.0, 8.0]], dtype='<f4')) with NumPy 2.4.6:
// format 1.0, header padded with spaces to 128 bytes and ended by '\n', then the data.
const std::string numpy_written =
    std::string("\x93NUMPY\x01\x00\x76\x00", 10) + "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }" +
    std::string(128 - 10 - 59 - 1, ' ') + "\n" +
    std::string("\x00\x00\xc0\x3f\x00\x00\x00\xc0\x00\x00\x80\x3e\x00\x00\x40\x40\x00\x00\xe0\x40\x00\x00\x00\x41", 24);

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <typename T>
std::string bytes_of(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// A .npy file of format `major`.0 with `dict` as its header (padded as NumPy pads it).
std::string npy(int major, const std::string& dict, const std::string& data) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  const auto length = static_cast<std::uint32_t>(header.size());
  for (std::size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((length >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string dict(const std::string& descr, const std::string& order, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
}

const std::vector<float> six = {1.5f, -2.0f, 0.25f, 3.0f, 7.0f, 8.0f};

// The call throws lunadb::Error of `kind` whose message names the file and contains `phrase`.
void expect_refused(const std::function<void()>& call, ErrorKind kind, const fs::path& file, const std::string& phrase) {
  try {
    call();
    ADD_FAILURE() << "no error for " << file << " (expected: " << phrase << ")";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.kind(), kind) << message;
    EXPECT_NE(message.find(file.string()), std::string::npos) << message;
    EXPECT_NE(message.find(phrase), std::string::npos) << "'" << phrase << "' not in: " << message;
  }
}

// `file` holding `bytes` is refused by `reader` as expect_refused() describes.
template <typename Reader>
void expect_file_refused(Reader reader, const fs::path& file, const std::string& bytes, ErrorKind kind, const std::string& phrase) {
  write_bytes(file, bytes);
  SCOPED_TRACE(phrase);
  expect_refused([&] { reader(file); }, kind, file, phrase);
}

TEST(DatasetFile, ReadsTheFileNumPyWrote) {
  TempDir dir;
  write_bytes(dir / "a.npy", numpy_written);
  const auto m = read_npy(dir / "a.npy");
  ASSERT_EQ(m.rows, 3u);
  ASSERT_EQ(m.cols, 2u);
  EXPECT_EQ(m.values, six);
  EXPECT_EQ(m.row(1)[0], 0.25f);
  EXPECT_EQ(read_vectors_file(dir / "a.npy").values, six);
}

TEST(DatasetFile, ReadsNpyFormats2And3AndDoubleQuotedHeaders) {
  TempDir dir;
  for (int major : {2, 3}) {
    write_bytes(dir / "v.npy", npy(major, dict("<f4", "False", "(3, 2)"), bytes_of(six)));
    const auto m = read_npy(dir / "v.npy");
    EXPECT_EQ(m.rows, 3u) << major;
    EXPECT_EQ(m.values, six) << major;
  }
  write_bytes(dir / "q.npy", npy(1, "{\"shape\": (3,2), \"fortran_order\": False, \"descr\": \"<f4\"}", bytes_of(six)));
  EXPECT_EQ(read_npy(dir / "q.npy").values, six);
}

TEST(DatasetFile, FvecsAndIvecsRoundTrip) {
  TempDir dir;
  const FloatMatrix floats{3, 2, six};
  write_fvecs(dir / "a.fvecs", floats);
  EXPECT_EQ(fs::file_size(dir / "a.fvecs"), 3u * (4 + 2 * 4));
  const auto back = read_fvecs(dir / "a.fvecs");
  EXPECT_EQ(back.rows, 3u);
  EXPECT_EQ(back.cols, 2u);
  EXPECT_EQ(back.values, six);
  EXPECT_EQ(read_vectors_file(dir / "a.fvecs").values, six);

  const IdMatrix ids{2, 3, {0, 7, -1, 2147483647, 5, 6}};
  write_ivecs(dir / "gt.ivecs", ids);
  const auto ids_back = read_ivecs(dir / "gt.ivecs");
  EXPECT_EQ(ids_back.rows, 2u);
  EXPECT_EQ(ids_back.cols, 3u);
  EXPECT_EQ(ids_back.values, ids.values);
}

TEST(DatasetFile, RefusesMalformedNpy) {
  TempDir dir;
  const auto file = dir / "bad.npy";
  auto refused = [&](const std::string& bytes, ErrorKind kind, const std::string& phrase) {
    expect_file_refused(read_npy, file, bytes, kind, phrase);
  };
  const std::string data = bytes_of(six);
  refused("", ErrorKind::corrupt, "is empty");
  refused("PK\x03\x04 not numpy at all", ErrorKind::corrupt, "magic");
  refused(std::string("\x93NUMPY\x01", 7), ErrorKind::corrupt, "truncated in the .npy preamble");
  refused(std::string("\x93NUMPY\x04\x00\x10\x00", 10), ErrorKind::unsupported, "format version 4");
  refused(npy(1, dict("<f4", "False", "(3, 2)"), data).substr(0, 40), ErrorKind::corrupt, "truncated in the .npy header");
  refused(npy(1, dict("<f4", "False", "(3, 2)"), data.substr(0, 20)), ErrorKind::corrupt, "truncated: shape (3, 2) needs 24 bytes");
  refused(npy(1, dict("<f4", "False", "(3, 2)"), data + "xx"), ErrorKind::corrupt, "2 bytes after the data");
  refused(npy(1, dict("<f8", "False", "(3, 1)"), data), ErrorKind::unsupported, "dtype '<f8'");
  refused(npy(1, dict(">f4", "False", "(3, 2)"), data), ErrorKind::unsupported, "dtype '>f4'");
  refused(npy(1, dict("<i4", "False", "(3, 2)"), data), ErrorKind::unsupported, "dtype '<i4'");
  refused(npy(1, dict("<f4", "True", "(3, 2)"), data), ErrorKind::unsupported, "Fortran");
  refused(npy(1, dict("<f4", "False", "(6,)"), data), ErrorKind::unsupported, "has 1 dimensions");
  refused(npy(1, dict("<f4", "False", "(1, 3, 2)"), data), ErrorKind::unsupported, "has 3 dimensions");
  refused(npy(1, dict("<f4", "False", "(0, 2)"), ""), ErrorKind::corrupt, "is empty (shape (0, 2))");
  refused(npy(1, dict("<f4", "False", "(99999999999999999999, 2)"), data), ErrorKind::corrupt, "too large");
  refused(npy(1, dict("<f4", "False", "(4611686018427387904, 2)"), data), ErrorKind::corrupt, "truncated");
  refused(npy(1, "{'descr': '<f4', 'shape': (3, 2), }", data), ErrorKind::corrupt, "are not all there");
  refused(npy(1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3, 2), }", data), ErrorKind::corrupt, "True or False");
  refused(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), 'extra': 1}", data), ErrorKind::corrupt,
          "unknown key 'extra'");
  refused(npy(1, "['descr', '<f4']", data), ErrorKind::corrupt, "malformed .npy header");
  std::vector<float> with_nan = six;
  with_nan[3] = std::numeric_limits<float>::quiet_NaN();
  refused(npy(1, dict("<f4", "False", "(3, 2)"), bytes_of(with_nan)), ErrorKind::invalid_argument, "row 1, column 1 is NaN");
}

TEST(DatasetFile, RefusesMalformedFvecsAndIvecs) {
  TempDir dir;
  const auto file = dir / "bad.fvecs";
  auto refused = [&](const std::string& bytes, ErrorKind kind, const std::string& phrase) {
    expect_file_refused(read_fvecs, file, bytes, kind, phrase);
  };
  auto row = [](std::int32_t dim, std::vector<float> values) { return bytes_of(std::vector<std::int32_t>{dim}) + bytes_of(values); };
  refused("", ErrorKind::corrupt, "is empty");
  refused("ab", ErrorKind::corrupt, "truncated in the first row's dimension");
  refused(row(0, {}), ErrorKind::corrupt, "row 0 declares dimension 0");
  refused(row(-3, {1, 2, 3}), ErrorKind::corrupt, "row 0 declares dimension -3");
  refused(row(2, {1, 2}) + row(2, {3}), ErrorKind::corrupt, "not a whole number of rows of dimension 2");
  refused(row(2, {1, 2}) + row(3, {3, 4}), ErrorKind::corrupt, "row 1 has dimension 3 but row 0 has 2");
  refused(row(2, {1, 2}) + row(2, {3, std::numeric_limits<float>::infinity()}), ErrorKind::invalid_argument,
          "row 1, column 1 is NaN or infinite");

  const auto ids = dir / "bad.ivecs";
  write_bytes(ids, "");
  expect_refused([&] { read_ivecs(ids); }, ErrorKind::corrupt, ids, "is empty");
  write_bytes(ids, bytes_of(std::vector<std::int32_t>{3, 1, 2}));
  expect_refused([&] { read_ivecs(ids); }, ErrorKind::corrupt, ids, "truncated, or rows of different dimensions");
}

TEST(DatasetFile, MissingFilesUnknownExtensionsAndUnwritablePaths) {
  TempDir dir;
  expect_refused([&] { read_npy(dir / "nope.npy"); }, ErrorKind::not_found, dir / "nope.npy", "does not exist");
  expect_refused([&] { read_fvecs(dir.path()); }, ErrorKind::usage, dir.path(), "is a folder");
  write_bytes(dir / "a.csv", "1,2\n");
  expect_refused([&] { read_vectors_file(dir / "a.csv"); }, ErrorKind::usage, dir / "a.csv", "unknown extension '.csv'");
  expect_refused([&] { write_fvecs(dir / "no" / "such" / "x.fvecs", FloatMatrix{3, 2, six}); }, ErrorKind::io,
                 dir / "no" / "such" / "x.fvecs", "cannot be opened for writing");
  expect_refused([&] { write_ivecs(dir / "e.ivecs", IdMatrix{}); }, ErrorKind::invalid_argument, dir / "e.ivecs", "nothing to write");
}

}  // namespace
