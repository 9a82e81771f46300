#pragma once
// Distance kernels shared by the HNSW graph and the exact (flat) search, and the stored form of a
// vector (an "element").
//
// An element is the embedding exactly as given, and for cosine one more float: its inverse norm.
// Keeping the raw floats (instead of a normalised copy) lets the graph be the only copy of each
// vector in memory while get() still returns the embeddings bit for bit.

#include <cstddef>

#include "lunadb/vector.hpp"

namespace lunadb::vector::detail {

// Picked once per process from what the CPU supports (AVX-512, AVX2+FMA, or portable code).
float dot_product(const float* a, const float* b, std::size_t dim) noexcept;
float squared_l2(const float* a, const float* b, std::size_t dim) noexcept;
const char* kernel_name() noexcept;  // "avx512", "avx2" or "generic"

using ElementDistance = float (*)(const void* a, const void* b, const void* dim) noexcept;
// The distance between two elements as reported to callers (cosine 1 - cos, l2 squared,
// ip 1 - dot). `dim` points to a std::size_t holding the dimension: hnswlib's calling convention.
ElementDistance element_distance(Distance distance) noexcept;

inline std::size_t element_floats(Distance distance, std::size_t dim) noexcept {
  return distance == Distance::cosine ? dim + 1 : dim;
}
// Writes the element of `raw` into `out` (element_floats() floats).
void make_element(Distance distance, const float* raw, std::size_t dim, float* out) noexcept;
float inverse_norm(const float* v, std::size_t dim) noexcept;  // 0 for a zero vector

}  // namespace lunadb::vector::detail
