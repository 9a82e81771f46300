#include "vector/io.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "lunadb/error.hpp"

namespace lunadb::vector::detail {

namespace {

// CRC-32C (Castagnoli): x86 computes it in hardware (SSE4.2), 8 bytes per instruction, so
// checking a snapshot of hundreds of megabytes on open costs tens of milliseconds.
constexpr std::uint32_t kCrc32cPoly = 0x82F63B78u;  // reflected

constexpr std::array<std::array<std::uint32_t, 256>, 8> make_crc_tables() {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? kCrc32cPoly ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::uint32_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFu];
  }
  return t;
}
constexpr auto kCrcTables = make_crc_tables();

// Slicing-by-8 for CPUs without the instruction; same results.
std::uint32_t crc32c_software(const std::uint8_t* p, std::size_t n, std::uint32_t c) noexcept {
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap64(word);
    word ^= c;
    c = kCrcTables[7][word & 0xFF] ^ kCrcTables[6][(word >> 8) & 0xFF] ^ kCrcTables[5][(word >> 16) & 0xFF] ^
        kCrcTables[4][(word >> 24) & 0xFF] ^ kCrcTables[3][(word >> 32) & 0xFF] ^ kCrcTables[2][(word >> 40) & 0xFF] ^
        kCrcTables[1][(word >> 48) & 0xFF] ^ kCrcTables[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = kCrcTables[0][(c ^ *p++) & 0xFFu] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_hardware(const std::uint8_t* p, std::size_t n, std::uint32_t c) noexcept {
  std::uint64_t c64 = c;
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    c64 = __builtin_ia32_crc32di(c64, word);
    p += 8;
    n -= 8;
  }
  c = static_cast<std::uint32_t>(c64);
  while (n-- > 0) c = __builtin_ia32_crc32qi(c, *p++);
  return c;
}

bool have_crc_instruction() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
const bool kHardwareCrc = have_crc_instruction();
#endif

[[noreturn]] void io_error(const std::string& what, const std::filesystem::path& file, int err) {
  throw Error(ErrorKind::io, what + " " + file.string() + ": " + std::strerror(err));
}

void fsync_path(const std::filesystem::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) io_error("cannot open for fsync", path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) io_error("fsync failed for", path, err);
}

}  // namespace

std::uint32_t crc32c(std::span<const std::uint8_t> bytes, std::uint32_t previous) {
  std::uint32_t c = previous ^ 0xFFFFFFFFu;
#if defined(__x86_64__)
  if (kHardwareCrc) return crc32c_hardware(bytes.data(), bytes.size(), c) ^ 0xFFFFFFFFu;
#endif
  return crc32c_software(bytes.data(), bytes.size(), c) ^ 0xFFFFFFFFu;
}

std::uint32_t crc32c_of_file(const std::filesystem::path& file, std::uint64_t* size) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) io_error("cannot open", file, errno);
  std::vector<std::uint8_t> buffer(1 << 20);
  std::uint32_t crc = 0;
  std::uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      io_error("cannot read", file, err);
    }
    if (n == 0) break;
    crc = crc32c(std::span(buffer.data(), static_cast<std::size_t>(n)), crc);
    total += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  if (size) *size = total;
  return crc;
}

void fsync_file(const std::filesystem::path& file) { fsync_path(file, O_RDONLY); }
void fsync_directory(const std::filesystem::path& dir) { fsync_path(dir, O_RDONLY | O_DIRECTORY); }

void start_writeback(const std::filesystem::path& file) {
#ifdef __linux__
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) io_error("cannot open", file, errno);
  (void)::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  ::close(fd);
#else
  (void)file;
#endif
}

void write_file_atomically(const std::filesystem::path& target, std::span<const std::uint8_t> bytes) {
  auto temp = target;
  temp += ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_error("cannot create", temp, errno);
  std::size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      io_error("cannot write", temp, err);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    io_error("fsync failed for", temp, err);
  }
  ::close(fd);
  if (::rename(temp.c_str(), target.c_str()) != 0) io_error("cannot rename to", target, errno);
  fsync_directory(target.parent_path());
}

std::string read_file(const std::filesystem::path& file, std::uint64_t max_size) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, "cannot open " + file.string());
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::uint64_t>(in.tellg());
  if (size > max_size) throw Error(ErrorKind::corrupt, file.string() + " is larger than expected");
  in.seekg(0);
  std::string data(size, '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  if (!in) throw Error(ErrorKind::io, "cannot read " + file.string());
  return data;
}

DirectoryLock::DirectoryLock(const std::filesystem::path& file) {
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) io_error("cannot open lock file", file, errno);
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      throw Error(ErrorKind::busy, "the vector store is in use by another process or handle (lock file " +
                                       file.string() + " is held); only one may open it at a time");
    }
    io_error("cannot lock", file, err);
  }
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace lunadb::vector::detail
