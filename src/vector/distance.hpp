#pragma once
// Exact distance kernels for the flat (brute-force) search, same definitions as hnswlib's spaces.

#include <cstddef>

namespace lunadb::vector::detail {

float dot_product(const float* a, const float* b, std::size_t dim) noexcept;
float squared_l2(const float* a, const float* b, std::size_t dim) noexcept;

}  // namespace lunadb::vector::detail
