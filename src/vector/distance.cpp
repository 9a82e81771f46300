#include "vector/distance.hpp"

#include <cstring>

namespace lunadb::vector::detail {

namespace {

// Four lanes (one SSE2/NEON register) with GCC vector extensions, and two independent
// accumulators: vectorised sums without -ffast-math.
typedef float Lanes __attribute__((vector_size(16)));
constexpr std::size_t kLanes = 4;

inline Lanes load(const float* p) noexcept {
  Lanes v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline float sum_lanes(Lanes v) noexcept {
  float total = 0;
  for (std::size_t i = 0; i < kLanes; ++i) total += v[i];
  return total;
}

}  // namespace

float dot_product(const float* a, const float* b, std::size_t dim) noexcept {
  Lanes acc0 = {}, acc1 = {};
  std::size_t i = 0;
  for (; i + 2 * kLanes <= dim; i += 2 * kLanes) {
    acc0 += load(a + i) * load(b + i);
    acc1 += load(a + i + kLanes) * load(b + i + kLanes);
  }
  for (; i + kLanes <= dim; i += kLanes) acc0 += load(a + i) * load(b + i);
  float total = sum_lanes(acc0 + acc1);
  for (; i < dim; ++i) total += a[i] * b[i];
  return total;
}

float squared_l2(const float* a, const float* b, std::size_t dim) noexcept {
  Lanes acc0 = {}, acc1 = {};
  std::size_t i = 0;
  for (; i + 2 * kLanes <= dim; i += 2 * kLanes) {
    Lanes d0 = load(a + i) - load(b + i);
    Lanes d1 = load(a + i + kLanes) - load(b + i + kLanes);
    acc0 += d0 * d0;
    acc1 += d1 * d1;
  }
  for (; i + kLanes <= dim; i += kLanes) {
    Lanes d = load(a + i) - load(b + i);
    acc0 += d * d;
  }
  float total = sum_lanes(acc0 + acc1);
  for (; i < dim; ++i) total += (a[i] - b[i]) * (a[i] - b[i]);
  return total;
}

}  // namespace lunadb::vector::detail
