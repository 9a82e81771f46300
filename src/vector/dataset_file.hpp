#pragma once
// Vector data set files for the benchmark (`lunadb bench vectors --data/--queries/--ground-truth
// /--export`): float32 NumPy `.npy` (format 1.0, 2.0, 3.0; little-endian '<f4', C order, 2-D),
// and the `.fvecs` / `.ivecs` layout of the ANN benchmark sets (each row: int32 dimension, then
// that many float32 or int32 values, little-endian).
//
// A file that is not what it should be gets an Error naming the file and the fault: not_found
// (missing), io (unreadable), corrupt (truncated, inconsistent rows, a malformed header, no rows),
// unsupported (a valid .npy of another dtype, Fortran order or another rank), invalid_argument
// (a NaN or infinite float).
//
// Thread-safety: free functions on values; no shared state.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace lunadb::vector::detail {

// Row-major rows x cols values.
template <typename Value>
struct RowMatrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<Value> values;

  std::span<const Value> row(std::size_t index) const { return {values.data() + index * cols, cols}; }
};

using FloatMatrix = RowMatrix<float>;
using IdMatrix = RowMatrix<std::int32_t>;

FloatMatrix read_npy(const std::filesystem::path& file);
FloatMatrix read_fvecs(const std::filesystem::path& file);
IdMatrix read_ivecs(const std::filesystem::path& file);
// By extension: .npy or .fvecs; anything else is Error(usage) naming the file.
FloatMatrix read_vectors_file(const std::filesystem::path& file);

// Error(io) naming the file when it cannot be written; Error(invalid_argument) for a matrix
// without rows or columns (the format cannot express it).
void write_fvecs(const std::filesystem::path& file, const FloatMatrix& matrix);
void write_ivecs(const std::filesystem::path& file, const IdMatrix& matrix);

}  // namespace lunadb::vector::detail
