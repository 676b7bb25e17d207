#include "exec/cpu/kernels.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "exec/cpu/thread_pool.h"

#if !defined(__GNUC__)
#error "kernels.cc uses GCC/Clang vector extensions"
#endif
#if defined(__FMA__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace orbitflow {
namespace {

// Half of a dot product's kDotLanes accumulator lanes: 8 floats, one AVX2 register (two NEON or
// SSE registers). A dot product is two of them, `lo` for lanes 0..7 and `hi` for lanes 8..15.
// Kernels hold only these in registers: a 16-float vector type would not fit an AVX2 register,
// and GCC then moves every accumulator through the stack at each step.
constexpr int kHalf = kDotLanes / 2;
typedef float Vec8 __attribute__((vector_size(kHalf * sizeof(float))));

// acc + a * b with one rounding where the target has fused multiply-add. Written out (this
// library is built with -ffp-contract=off) so the compiler cannot fuse some products and not
// others depending on inlining: every caller gets the same rounding.
[[gnu::always_inline]] inline Vec8 MulAdd(Vec8 a, Vec8 b, Vec8 acc) {
#if defined(__FMA__)
  return reinterpret_cast<Vec8>(_mm256_fmadd_ps(reinterpret_cast<__m256>(a),
                                                reinterpret_cast<__m256>(b),
                                                reinterpret_cast<__m256>(acc)));
#elif defined(__aarch64__)
  typedef float V4 __attribute__((vector_size(4 * sizeof(float))));
  auto fma4 = [](V4 x, V4 y, V4 z) {
    return reinterpret_cast<V4>(vfmaq_f32(reinterpret_cast<float32x4_t>(z),
                                          reinterpret_cast<float32x4_t>(x),
                                          reinterpret_cast<float32x4_t>(y)));
  };
  const V4 lo = fma4(__builtin_shufflevector(a, a, 0, 1, 2, 3),
                     __builtin_shufflevector(b, b, 0, 1, 2, 3),
                     __builtin_shufflevector(acc, acc, 0, 1, 2, 3));
  const V4 hi = fma4(__builtin_shufflevector(a, a, 4, 5, 6, 7),
                     __builtin_shufflevector(b, b, 4, 5, 6, 7),
                     __builtin_shufflevector(acc, acc, 4, 5, 6, 7));
  return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7);
#else
  return acc + a * b;  // no FMA on this target: two roundings, the same for every caller
#endif
}

[[gnu::always_inline]] inline Vec8 Load(const float* p) {
  Vec8 v;
  std::memcpy(&v, p, sizeof(v));  // unaligned load
  return v;
}

// A loaded value that stays in a register. GCC otherwise folds a reused load into each
// multiply-add as a memory operand, which reloads it once per use and makes the tiles
// load-bound.
[[gnu::always_inline]] inline Vec8 LoadToRegister(const float* p) {
  Vec8 v = Load(p);
#if defined(__AVX__)
  asm("" : "+x"(v));  // an empty instruction that needs v in a ymm register
#endif
  return v;
}

// The first `count` floats at p (0 <= count <= kHalf), zeros after. A row's tail goes
// into lanes like any other element (element i into lane i % kDotLanes); zero lanes add nothing.
inline Vec8 LoadPartial(const float* p, int count) {
  Vec8 v = {};
  for (int i = 0; i < count; ++i) v[i] = p[i];
  return v;
}

// Sums a dot product's 16 lanes by halving: lanes [0, 8) + [8, 16) (that is lo + hi), then
// [0, 4) + [4, 8), and so on; the same tree on every target, done in registers.
inline float ReduceAdd(Vec8 lo, Vec8 hi) {
  typedef float V4 __attribute__((vector_size(4 * sizeof(float))));
  typedef float V2 __attribute__((vector_size(2 * sizeof(float))));
  static_assert(kDotLanes == 16, "the shuffles below are written for 16 lanes");
  const Vec8 h = lo + hi;
  const V4 q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
  const V2 d = __builtin_shufflevector(q, q, 0, 1) + __builtin_shufflevector(q, q, 2, 3);
  return d[0] + d[1];
}

// One register tile of dot products: y[r * y_stride + c] = x_r . w_c for R rows of x and C rows
// of w, each of n floats (x_r = x + r * x_stride, w_c = w + c * w_stride).
struct TileArgs {
  float* y;
  int64_t y_stride;
  const float* x;
  int64_t x_stride;
  const float* w;
  int64_t w_stride;
  int n;
};

// Each loaded w vector is used R times and each x vector C times; the 2 R C accumulators (plus
// C w vectors and one x vector) must fit the 16 AVX2 registers. Every dot product runs the same
// lane-wise sequence whatever R and C are, so a value does not depend on which tile (or which
// kernel) computed it: it always equals Dot(x_r, w_c, n).
template <int R, int C>
[[gnu::always_inline]] inline void DotTileBody(const TileArgs& a) {
  Vec8 acc[2][R][C];  // [lo / hi half][row][col]
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) acc[0][r][c] = acc[1][r][c] = Vec8{};
  // One half-step: elements [k, k + kHalf) into half h of every accumulator.
  auto half_step = [&](int h, auto load_w, auto load_x) __attribute__((always_inline)) {
    Vec8 wv[C];
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) wv[c] = load_w(c);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const Vec8 xv = load_x(r);
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) acc[h][r][c] = MulAdd(xv, wv[c], acc[h][r][c]);
    }
  };
  int i = 0;
  for (; i + kDotLanes <= a.n; i += kDotLanes) {
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const int k = i + h * kHalf;
      half_step(h, [&](int c) { return LoadToRegister(a.w + c * a.w_stride + k); },
                [&](int r) { return LoadToRegister(a.x + r * a.x_stride + k); });
    }
  }
  if (i < a.n) {  // the row's tail: both halves, zero-padded, as one more step of every lane
    for (int h = 0; h < 2; ++h) {
      const int k = i + h * kHalf, count = std::clamp(a.n - k, 0, kHalf);
      half_step(h, [&](int c) { return LoadPartial(a.w + c * a.w_stride + k, count); },
                [&](int r) { return LoadPartial(a.x + r * a.x_stride + k, count); });
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) a.y[r * a.y_stride + c] = ReduceAdd(acc[0][r][c], acc[1][r][c]);
}

template <int R, int C>
void DotTile(const TileArgs& a) {
  DotTileBody<R, C>(a);
}

// R batch rows against `count` consecutive weight rows, C weight rows at a time; the same
// arithmetic as DotTile<R, 1> on each weight row, without a call per tile.
template <int R, int C>
void DotRows(TileArgs a, int count) {
  int c = 0;
  for (; c + C <= count; c += C) {
    DotTileBody<R, C>(a);
    a.y += C;
    a.w += C * a.w_stride;
  }
  for (; c < count; ++c) {
    DotTileBody<R, 1>(a);
    a.y += 1;
    a.w += a.w_stride;
  }
}

// The batch is cut into tiles of 2 rows x 3 weight rows: 12 accumulators, 3 w vectors and one x
// vector, which fills the 16 AVX2 registers. Measured at stories110m's shapes, batch 16, one
// thread: 2 x 3 ran at 45-60 GFLOP/s; 3 x 2 at 47-55 (its 16th row falls into 1 x 2 tiles); a
// 4 x 3 tile that runs the two halves of the lanes one after the other at 28-47 (it reads every
// row twice). Blocking the rows into chunks of 256 to 512 floats, so that the batch rows stay in
// L1 too, carrying the partial sums between chunks, measured 20-30% slower.
constexpr int kTileRows = 2;
constexpr int kTileCols = 3;
using TileFn = void (*)(const TileArgs&);
// kTiles[rows - 1][cols - 1]; the batch's and the output's remainders take the smaller ones.
constexpr TileFn kTiles[kTileRows][kTileCols] = {{DotTile<1, 1>, DotTile<1, 2>, DotTile<1, 3>},
                                                 {DotTile<2, 1>, DotTile<2, 2>, DotTile<2, 3>}};

// Output columns [o_begin, o_end) for the whole batch.
void MatmulRange(float* y, const float* x, const float* w, int batch, int in, int out,
                 int o_begin, int o_end) {
  if (batch == 1) {
    // One row is bound by streaming the weights from memory, and this is fastest one weight
    // row at a time: a single sequential stream that the hardware prefetcher follows (1 x 3
    // tiles measured 10% slower for a stories110m decode step).
    DotRows<1, 1>({.y = y + o_begin, .y_stride = out, .x = x, .x_stride = in,
                   .w = w + int64_t{o_begin} * in, .w_stride = in, .n = in},
                  o_end - o_begin);
    return;
  }
  // A weight tile stays in L1 while every batch tile passes over it, so the weights stream from
  // memory once per call, and the batch rows come from L2. The weight tile kPrefetchAhead
  // tiles ahead (contiguous: 3 whole rows) is requested a share per batch tile, so it arrives
  // while this one is used. The hardware prefetcher alone does not see three interleaved
  // rows of 3 KB early enough: without this a batch-16 step of stories110m took 20-40% longer.
  constexpr int kPrefetchAhead = 2;
  const int batch_tiles = (batch + kTileRows - 1) / kTileRows;
  const int64_t tile_lines = (int64_t{kTileCols} * in * int64_t{sizeof(float)} + 63) / 64;
  const int64_t lines_per_tile = (tile_lines + batch_tiles - 1) / batch_tiles;
  const char* const w_end = reinterpret_cast<const char*>(w + int64_t{o_end} * in);
  for (int o = o_begin; o < o_end; o += kTileCols) {
    const int cols = std::min(kTileCols, o_end - o);
    const char* ahead = reinterpret_cast<const char*>(w + int64_t{o + kPrefetchAhead * kTileCols} * in);
    for (int b = 0; b < batch; b += kTileRows) {
      for (int64_t i = 0; i < lines_per_tile && ahead < w_end; ++i, ahead += 64) {
        __builtin_prefetch(ahead);
      }
      const int rows = std::min(kTileRows, batch - b);
      kTiles[rows - 1][cols - 1]({.y = y + int64_t{b} * out + o, .y_stride = out,
                                  .x = x + int64_t{b} * in, .x_stride = in,
                                  .w = w + int64_t{o} * in, .w_stride = in, .n = in});
    }
  }
}

}  // namespace

float Dot(const float* a, const float* b, int n) {
  float y;
  DotTile<1, 1>({.y = &y, .y_stride = 1, .x = a, .x_stride = n, .w = b, .w_stride = n, .n = n});
  return y;
}

void DotStrided(float* y, const float* x, const float* w, int64_t w_stride, int rows, int n) {
  constexpr int kCols = 4;
  DotRows<1, kCols>({.y = y, .y_stride = 0, .x = x, .x_stride = 0, .w = w, .w_stride = w_stride,
                     .n = n},
                    rows);
}

namespace {

// AccumulateWeighted on up to V vectors (8 V floats) of out, full vectors only: the V chains are
// independent, so they overlap in the pipeline instead of waiting on each other's latency.
template <int V>
void AccumulateVectors(float* out, const float* a, const float* v, int64_t v_stride, int rows) {
  Vec8 acc[V];
#pragma GCC unroll 8
  for (int j = 0; j < V; ++j) acc[j] = Load(out + j * kHalf);
  for (int t = 0; t < rows; ++t) {
    const Vec8 at = Vec8{} + a[t];
#pragma GCC unroll 8
    for (int j = 0; j < V; ++j) acc[j] = MulAdd(at, Load(v + t * v_stride + j * kHalf), acc[j]);
  }
#pragma GCC unroll 8
  for (int j = 0; j < V; ++j) std::memcpy(out + j * kHalf, &acc[j], sizeof(Vec8));
}

}  // namespace

void AccumulateWeighted(float* out, const float* a, const float* v, int64_t v_stride, int rows,
                        int n) {
  // Element-wise, so the vector width and the grouping do not change any value: out[i] runs the
  // same chain of fused multiply-adds over t in order whatever they are.
  int i = 0;
  for (; i + 8 * kHalf <= n; i += 8 * kHalf) AccumulateVectors<8>(out + i, a, v + i, v_stride, rows);
  for (; i + kHalf <= n; i += kHalf) AccumulateVectors<1>(out + i, a, v + i, v_stride, rows);
  if (i < n) {
    const int width = n - i;
    Vec8 acc = LoadPartial(out + i, width);
    for (int t = 0; t < rows; ++t) {
      acc = MulAdd(Vec8{} + a[t], LoadPartial(v + t * v_stride + i, width), acc);
    }
    std::memcpy(out + i, &acc, sizeof(float) * width);
  }
}

void RmsNorm(float* out, const float* x, const float* weight, int n, float eps) {
  const float ss = Dot(x, x, n) / static_cast<float>(n) + eps;
  const float scale = 1.0f / std::sqrt(ss);
  for (int i = 0; i < n; ++i) out[i] = weight[i] * (scale * x[i]);
}

void RmsNormRows(float* out, const float* x, const float* weight, int rows, int n, float eps) {
  for (int r = 0; r < rows; ++r) {
    RmsNorm(out + int64_t{r} * n, x + int64_t{r} * n, weight, n, eps);
  }
}

void Matmul(float* y, const float* x, const float* w, int batch, int in, int out,
            ThreadPool* pool) {
  if (batch <= 0 || out <= 0) return;
  // Threads take whole groups of output rows, so tiles never straddle two threads.
  constexpr int kGroup = kTileCols;
  const int64_t groups = (out + kGroup - 1) / kGroup;
  auto range = [&](int64_t g_begin, int64_t g_end) {
    MatmulRange(y, x, w, batch, in, out, static_cast<int>(g_begin * kGroup),
                static_cast<int>(std::min<int64_t>(out, g_end * kGroup)));
  };
  if (pool == nullptr) {
    range(0, groups);
  } else {
    pool->ParallelFor(groups, range);
  }
}

void RopeTable(float* cs, int head_dim, int pos, float theta) {
  for (int i = 0; i < head_dim; i += 2) {
    const float freq = 1.0f / std::pow(theta, static_cast<float>(i) / static_cast<float>(head_dim));
    const float angle = static_cast<float>(pos) * freq;
    cs[i] = std::cos(angle);
    cs[i + 1] = std::sin(angle);
  }
}

// Kept out of line so every caller runs the same machine code: when GCC vectorises this rotation
// inside a caller it may fuse it into fmaddsub even under -ffp-contract=off, which would round
// differently from the out-of-line copy.
[[gnu::noinline]] void ApplyRope(float* vec, int n, int head_dim, const float* cs) {
  for (int h = 0; h < n; h += head_dim) {
    float* v = vec + h;
    for (int i = 0; i < head_dim; i += 2) {
      const float v0 = v[i], v1 = v[i + 1];
      v[i] = v0 * cs[i] - v1 * cs[i + 1];
      v[i + 1] = v0 * cs[i + 1] + v1 * cs[i];
    }
  }
}

void Rope(float* vec, int n, int head_dim, int pos, float theta) {
  assert(head_dim <= kMaxRopeHeadDim);
  float cs[kMaxRopeHeadDim];
  RopeTable(cs, head_dim, pos, theta);
  ApplyRope(vec, n, head_dim, cs);
}

void Softmax(float* x, int n) {
  float max_val = x[0];
  for (int i = 1; i < n; ++i) max_val = std::max(max_val, x[i]);
  float sum = 0.0f;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_val);
    sum += x[i];
  }
  for (int i = 0; i < n; ++i) x[i] /= sum;
}

void SwiGlu(float* hb, const float* hb2, int n) {
  for (int i = 0; i < n; ++i) {
    const float g = hb[i];
    hb[i] = g * (1.0f / (1.0f + std::exp(-g))) * hb2[i];
  }
}

void AddInPlace(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

int Argmax(const float* x, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i) {
    if (x[i] > x[best]) best = i;
  }
  return best;
}

}  // namespace orbitflow
