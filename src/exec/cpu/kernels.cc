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
#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace orbitflow {
namespace {

// A vector of kDotLanes floats. GCC/Clang lower it to whatever the target has (one zmm with
// AVX-512, two ymm with AVX2, four xmm with SSE or NEON), so the lane order is the same on all.
typedef float Vec __attribute__((vector_size(kDotLanes * sizeof(float))));
typedef float Half __attribute__((vector_size(kDotLanes * sizeof(float) / 2)));
typedef float Quarter __attribute__((vector_size(kDotLanes * sizeof(float) / 4)));

// acc + a * b with one rounding where the target has fused multiply-add. Written out (this
// library is built with -ffp-contract=off) so the compiler cannot fuse some products and not
// others depending on inlining: every caller gets the same rounding.
inline Vec MulAdd(Vec a, Vec b, Vec acc) {
#if defined(__AVX512F__)
  return reinterpret_cast<Vec>(_mm512_fmadd_ps(reinterpret_cast<__m512>(a),
                                               reinterpret_cast<__m512>(b),
                                               reinterpret_cast<__m512>(acc)));
#elif defined(__FMA__)
  Half r[2], ha[2], hb[2], hc[2];
  std::memcpy(ha, &a, sizeof(a));
  std::memcpy(hb, &b, sizeof(b));
  std::memcpy(hc, &acc, sizeof(acc));
  for (int i = 0; i < 2; ++i) {
    r[i] = reinterpret_cast<Half>(_mm256_fmadd_ps(reinterpret_cast<__m256>(ha[i]),
                                                  reinterpret_cast<__m256>(hb[i]),
                                                  reinterpret_cast<__m256>(hc[i])));
  }
  Vec out;
  std::memcpy(&out, r, sizeof(out));
  return out;
#elif defined(__aarch64__)
  Quarter r[4], qa[4], qb[4], qc[4];
  std::memcpy(qa, &a, sizeof(a));
  std::memcpy(qb, &b, sizeof(b));
  std::memcpy(qc, &acc, sizeof(acc));
  for (int i = 0; i < 4; ++i) {
    r[i] = reinterpret_cast<Quarter>(vfmaq_f32(reinterpret_cast<float32x4_t>(qc[i]),
                                               reinterpret_cast<float32x4_t>(qa[i]),
                                               reinterpret_cast<float32x4_t>(qb[i])));
  }
  Vec out;
  std::memcpy(&out, r, sizeof(out));
  return out;
#else
  return acc + a * b;  // no FMA on this target: two roundings, the same for every caller
#endif
}

inline Vec Load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof(v));  // unaligned load
  return v;
}

// The first `count` < kDotLanes floats at p, zeros after: the tail of a row goes into lanes
// 0..count-1 like any other element i into lane i % kDotLanes, and the zero lanes add nothing.
inline Vec LoadPartial(const float* p, int count) {
  Vec v = {};
  for (int i = 0; i < count; ++i) v[i] = p[i];
  return v;
}

// Sums the lanes by halving: lanes [0, 8) + [8, 16), then [0, 4) + [4, 8), and so on; the same
// tree on every target, done in registers.
inline float ReduceAdd(Vec v) {
  typedef float V2 __attribute__((vector_size(2 * sizeof(float))));
  static_assert(kDotLanes == 16, "the shuffles below are written for 16 lanes");
  const Half h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                 __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const Quarter q = __builtin_shufflevector(h, h, 0, 1, 2, 3) +
                    __builtin_shufflevector(h, h, 4, 5, 6, 7);
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
  // Optional software prefetch: `lines_per_step` cache lines from address `prefetch` onwards are
  // requested at each step of kDotLanes elements (see MatmulRange).
  uintptr_t prefetch = 0;
  int lines_per_step = 0;
};

// Each loaded w vector is used R times and each x vector C times. Every dot product runs the
// same lane-wise sequence whatever R and C are, so a value does not depend on which tile (or
// which kernel) computed it: it always equals Dot(x_r, w_c, n).
template <int R, int C, bool kPrefetch>
[[gnu::always_inline]] inline void DotTileBody(const TileArgs& a) {
  Vec acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = Vec{};
  int i = 0;
  uintptr_t prefetch = a.prefetch;
  for (; i + kDotLanes <= a.n; i += kDotLanes) {
    if (kPrefetch && prefetch != 0) {
      for (int j = 0; j < a.lines_per_step; ++j, prefetch += 64) {
        __builtin_prefetch(reinterpret_cast<const void*>(prefetch));
      }
    }
    Vec wv[C];
    for (int c = 0; c < C; ++c) wv[c] = Load(a.w + c * a.w_stride + i);
    for (int r = 0; r < R; ++r) {
      const Vec xv = Load(a.x + r * a.x_stride + i);
      for (int c = 0; c < C; ++c) acc[r][c] = MulAdd(xv, wv[c], acc[r][c]);
    }
  }
  if (i < a.n) {
    const int rest = a.n - i;
    Vec wv[C];
    for (int c = 0; c < C; ++c) wv[c] = LoadPartial(a.w + c * a.w_stride + i, rest);
    for (int r = 0; r < R; ++r) {
      const Vec xv = LoadPartial(a.x + r * a.x_stride + i, rest);
      for (int c = 0; c < C; ++c) acc[r][c] = MulAdd(xv, wv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) a.y[r * a.y_stride + c] = ReduceAdd(acc[r][c]);
}

// One tile (the 4 x 4 tiles of big batches prefetch; Dot and DotStrided do not).
template <int R, int C, bool kPrefetch = false>
void DotTile(const TileArgs& a) {
  DotTileBody<R, C, kPrefetch>(a);
}

// R batch rows against `count` consecutive weight rows, one weight row at a time (the small-batch
// path, see ChooseTile): the same arithmetic as DotTile<R, 1>, without a call per weight row.
template <int R>
void DotRows(TileArgs a, int count) {
  for (int c = 0; c < count; ++c) {
    DotTileBody<R, 1, false>(a);
    a.y += 1;
    a.w += a.w_stride;
  }
}

// Tiles of up to 4 batch rows x 4 weight rows: 16 accumulators, which with the 4 x vectors fit
// the 32 AVX-512 registers (and spill a little on AVX2). kTiles[rows - 1][cols - 1].
constexpr int kMaxTileRows = 4;
constexpr int kMaxTileCols = 4;
constexpr int kSmallBatch = 4;  // batches up to this size use one-weight-row tiles

using TileFn = void (*)(const TileArgs&);
template <int R>
constexpr TileFn kTileRow[kMaxTileCols] = {DotTile<R, 1, true>, DotTile<R, 2, true>,
                                           DotTile<R, 3, true>, DotTile<R, 4, true>};
constexpr const TileFn* kTiles[kMaxTileRows] = {kTileRow<1>, kTileRow<2>, kTileRow<3>,
                                                kTileRow<4>};
using RowsFn = void (*)(TileArgs, int);
constexpr RowsFn kRows[kMaxTileRows] = {DotRows<1>, DotRows<2>, DotRows<3>, DotRows<4>};
constexpr TileFn kStridedTiles[kMaxTileCols] = {DotTile<1, 1>, DotTile<1, 2>, DotTile<1, 3>,
                                                DotTile<1, 4>};

// The tile shape for a batch. Small batches are bound by streaming the weights from memory, and
// this is fastest one weight row at a time (a single sequential stream that the hardware
// prefetcher follows; several interleaved row streams measured up to 2x slower). Larger batches
// are bound by arithmetic: 4 x 4 tiles reuse each loaded vector four times.
struct TileShape {
  int rows;  // batch rows per tile
  int cols;  // weight rows per tile
};
TileShape ChooseTile(int batch) {
  if (batch <= kSmallBatch) return {batch, 1};
  return {kMaxTileRows, kMaxTileCols};
}

// How many weight tiles ahead multi-row tiles prefetch. Interleaved row streams defeat the
// hardware prefetcher; without this, a big batch waits for each tile's first loads (measured:
// a batch-16 decode step of synthetic stories110m went from 110 to 75 ms on one thread).
constexpr int kPrefetchTilesAhead = 2;

// Output rows [o_begin, o_end) for the whole batch. A weight tile stays in L1 while every batch
// tile passes over it: the weights stream from memory once per call.
void MatmulRange(float* y, const float* x, const float* w, int batch, int in, int out,
                 int o_begin, int o_end) {
  const TileShape shape = ChooseTile(batch);
  if (shape.cols == 1) {  // small batch: stream the weight rows in order
    for (int b = 0; b < batch; b += shape.rows) {
      const int rows = std::min(shape.rows, batch - b);
      kRows[rows - 1]({.y = y + int64_t{b} * out + o_begin, .y_stride = out,
                       .x = x + int64_t{b} * in, .x_stride = in,
                       .w = w + int64_t{o_begin} * in, .w_stride = in, .n = in},
                      o_end - o_begin);
    }
    return;
  }
  // Multi-row tiles spread the prefetch of the tile kPrefetchTilesAhead ahead evenly over all
  // the steps of all batch tiles of the current one.
  const int steps = in / kDotLanes;
  const int batch_tiles = (batch + shape.rows - 1) / shape.rows;
  const int64_t tile_lines = (int64_t{shape.cols} * in * int64_t{sizeof(float)} + 63) / 64;
  const int lines_per_step =
      steps > 0 ? static_cast<int>((tile_lines + int64_t{batch_tiles} * steps - 1) /
                                   (int64_t{batch_tiles} * steps))
                : 0;
  for (int o = o_begin; o < o_end; o += shape.cols) {
    const int cols = std::min(shape.cols, o_end - o);
    const int ahead = o + kPrefetchTilesAhead * shape.cols;
    uintptr_t prefetch = lines_per_step > 0 && ahead < out
                             ? reinterpret_cast<uintptr_t>(w + int64_t{ahead} * in)
                             : 0;
    for (int b = 0; b < batch; b += shape.rows) {
      const int rows = std::min(shape.rows, batch - b);
      kTiles[rows - 1][cols - 1]({.y = y + int64_t{b} * out + o, .y_stride = out,
                                  .x = x + int64_t{b} * in, .x_stride = in,
                                  .w = w + int64_t{o} * in, .w_stride = in, .n = in,
                                  .prefetch = prefetch, .lines_per_step = lines_per_step});
      if (prefetch != 0) prefetch += uintptr_t{64} * lines_per_step * steps;
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
  for (int j = 0; j < rows; j += kMaxTileCols) {
    kStridedTiles[std::min(kMaxTileCols, rows - j) - 1]({.y = y + j, .y_stride = 0, .x = x,
                                                  .x_stride = 0, .w = w + j * w_stride,
                                                  .w_stride = w_stride, .n = n});
  }
}

void AccumulateWeighted(float* out, const float* a, const float* v, int64_t v_stride, int rows,
                        int n) {
  for (int i = 0; i < n; i += kDotLanes) {
    const int width = std::min(kDotLanes, n - i);
    Vec acc = width == kDotLanes ? Load(out + i) : LoadPartial(out + i, width);
    for (int t = 0; t < rows; ++t) {
      const Vec vt = width == kDotLanes ? Load(v + t * v_stride + i)
                                        : LoadPartial(v + t * v_stride + i, width);
      acc = MulAdd(Vec{} + a[t], vt, acc);
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
  // Threads take whole groups of kMaxTileCols output rows, so tiles never straddle two threads.
  const int64_t groups = (out + kMaxTileCols - 1) / kMaxTileCols;
  auto range = [&](int64_t g_begin, int64_t g_end) {
    MatmulRange(y, x, w, batch, in, out, static_cast<int>(g_begin * kMaxTileCols),
                static_cast<int>(std::min<int64_t>(out, g_end * kMaxTileCols)));
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
