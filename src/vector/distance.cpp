#include "vector/distance.hpp"

#include <cmath>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_ps() and then warn about it
// (-Wuninitialized, GCC bug 105593); the warning is placed in the header, so it is silenced there.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#define LUNADB_X86 1
#endif

namespace lunadb::vector::detail {

namespace {

// Portable kernels: four lanes with GCC vector extensions and two independent accumulators,
// vectorised without -ffast-math.
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

float dot_generic(const float* a, const float* b, std::size_t dim) noexcept {
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

float l2_generic(const float* a, const float* b, std::size_t dim) noexcept {
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

#ifdef LUNADB_X86
// The build targets baseline x86-64 (SSE2), where these kernels would run at a quarter of the
// machine's width; per-function targets plus a run-time CPU check keep the binary portable.
// Masked loads handle the tail, so no read goes past the last float of a vector.
// Four accumulators: an FMA's latency is four cycles, so two chains leave the units idle.
__attribute__((target("avx512f"))) inline float dot_avx512_inline(const float* a, const float* b, std::size_t dim) noexcept {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 64 <= dim; i += 64) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
  }
  for (; i < dim; i += 16) {
    const std::size_t left = dim - i;
    const __mmask16 mask = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

__attribute__((target("avx512f"))) float dot_avx512(const float* a, const float* b, std::size_t dim) noexcept {
  return dot_avx512_inline(a, b, dim);
}

// hnswlib calls the distance through a pointer; these avoid a second indirect call inside it.
__attribute__((target("avx512f"))) float cosine_avx512(const void* a, const void* b, const void* dim) noexcept {
  const std::size_t n = *static_cast<const std::size_t*>(dim);
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  return 1.0f - dot_avx512_inline(x, y, n) * x[n] * y[n];
}

__attribute__((target("avx512f"))) float ip_avx512(const void* a, const void* b, const void* dim) noexcept {
  return 1.0f - dot_avx512_inline(static_cast<const float*>(a), static_cast<const float*>(b), *static_cast<const std::size_t*>(dim));
}

__attribute__((target("avx512f"))) float l2_avx512(const float* a, const float* b, std::size_t dim) noexcept {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= dim; i += 32) {
    __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
    acc0 = _mm512_fmadd_ps(d0, d0, acc0);
    acc1 = _mm512_fmadd_ps(d1, d1, acc1);
  }
  for (; i < dim; i += 16) {
    const std::size_t left = dim - i;
    const __mmask16 mask = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
    __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i));
    acc0 = _mm512_fmadd_ps(d, d, acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

__attribute__((target("avx2,fma"))) float hsum256(__m256 v) noexcept {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, std::size_t dim) noexcept {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= dim; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float total = hsum256(_mm256_add_ps(acc0, acc1));
  for (; i < dim; ++i) total += a[i] * b[i];
  return total;
}

__attribute__((target("avx2,fma"))) float l2_avx2(const float* a, const float* b, std::size_t dim) noexcept {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    acc0 = _mm256_fmadd_ps(d0, d0, acc0);
    acc1 = _mm256_fmadd_ps(d1, d1, acc1);
  }
  for (; i + 8 <= dim; i += 8) {
    __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    acc0 = _mm256_fmadd_ps(d, d, acc0);
  }
  float total = hsum256(_mm256_add_ps(acc0, acc1));
  for (; i < dim; ++i) total += (a[i] - b[i]) * (a[i] - b[i]);
  return total;
}
#endif

using Kernel = float (*)(const float*, const float*, std::size_t) noexcept;

struct Kernels {
  Kernel dot = dot_generic;
  Kernel l2 = l2_generic;
  const char* name = "generic";
};

Kernels pick_kernels() noexcept {
  Kernels k;
#ifdef LUNADB_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    k = {dot_avx512, l2_avx512, "avx512"};
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    k = {dot_avx2, l2_avx2, "avx2"};
  }
#endif
  return k;
}

// A function-local static would add a guard check to every distance: hnswlib calls these
// millions of times per second.
const Kernels kKernels = pick_kernels();

float cosine_distance(const void* a, const void* b, const void* dim) noexcept {
  const std::size_t n = *static_cast<const std::size_t*>(dim);
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  return 1.0f - kKernels.dot(x, y, n) * x[n] * y[n];
}

float ip_distance(const void* a, const void* b, const void* dim) noexcept {
  return 1.0f - kKernels.dot(static_cast<const float*>(a), static_cast<const float*>(b), *static_cast<const std::size_t*>(dim));
}

float l2_distance(const void* a, const void* b, const void* dim) noexcept {
  return kKernels.l2(static_cast<const float*>(a), static_cast<const float*>(b), *static_cast<const std::size_t*>(dim));
}

}  // namespace

float dot_product(const float* a, const float* b, std::size_t dim) noexcept { return kKernels.dot(a, b, dim); }
float squared_l2(const float* a, const float* b, std::size_t dim) noexcept { return kKernels.l2(a, b, dim); }
const char* kernel_name() noexcept { return kKernels.name; }

ElementDistance element_distance(Distance distance) noexcept {
#ifdef LUNADB_X86
  if (kKernels.dot == dot_avx512) {
    if (distance == Distance::cosine) return cosine_avx512;
    if (distance == Distance::ip) return ip_avx512;
  }
#endif
  switch (distance) {
    case Distance::cosine: return cosine_distance;
    case Distance::ip: return ip_distance;
    case Distance::l2: return l2_distance;
  }
  return cosine_distance;
}

float inverse_norm(const float* v, std::size_t dim) noexcept {
  const float norm = std::sqrt(dot_product(v, v, dim));
  return norm > 0 ? 1.0f / norm : 0.0f;
}

void make_element(Distance distance, const float* raw, std::size_t dim, float* out) noexcept {
  std::memcpy(out, raw, dim * sizeof(float));
  if (distance == Distance::cosine) out[dim] = inverse_norm(raw, dim);
}

}  // namespace lunadb::vector::detail
