#pragma once
// Small file-system helpers for the vector store: CRC-32, durable writes, the directory lock.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace lunadb::vector::detail {

// CRC-32C (Castagnoli, reflected, polynomial 0x82F63B78; check value of "123456789" is
// 0xE3069283). Pass the previous value to continue.
std::uint32_t crc32c(std::span<const std::uint8_t> bytes, std::uint32_t previous = 0);
// CRC-32C and size of a whole file, streamed. Throws Error(io) when it cannot be read.
std::uint32_t crc32c_of_file(const std::filesystem::path& file, std::uint64_t* size);

void fsync_file(const std::filesystem::path& file);       // Error(io) naming the file
void fsync_directory(const std::filesystem::path& dir);   // so a rename survives power loss
// Starts writing the file's dirty pages to disk without waiting (Linux; elsewhere nothing), so
// that an fsync later finds the work done. A hint: a write error shows at that fsync.
void start_writeback(const std::filesystem::path& file);
// temp file in the same folder, fsync, rename over `target`, fsync the folder.
void write_file_atomically(const std::filesystem::path& target, std::span<const std::uint8_t> bytes);
std::string read_file(const std::filesystem::path& file, std::uint64_t max_size);  // Error(io/corrupt)

// An exclusive flock on `file`, held for the object's lifetime. Throws Error(busy) naming the
// file when another process (or another open store in this process) holds it.
class DirectoryLock {
 public:
  explicit DirectoryLock(const std::filesystem::path& file);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace lunadb::vector::detail
