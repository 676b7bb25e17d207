#include "exec/cpu/attention.h"

#include <algorithm>
#include <cmath>

#include "exec/cpu/kernels.h"

namespace orbitflow {
namespace {

// Asks for floats [offset, offset + n) of every slot of a block half (K or V) that the next step
// will read. Blocks sit anywhere in memory, so the hardware prefetcher cannot guess the next
// one; touching it a block ahead hides the miss.
void PrefetchSlots(const float* first_slot, int kv_dim, int n) {
  for (int slot = 0; slot < kBlockTokens; ++slot) {
    const char* p = reinterpret_cast<const char*>(first_slot + int64_t{slot} * kv_dim);
    for (int byte = 0; byte < n * static_cast<int>(sizeof(float)); byte += 64) {
      __builtin_prefetch(p + byte);
    }
  }
}

}  // namespace

void PagedAttention(float* out, const float* q, KvBlockTable table, int n_keys,
                    const AttentionShape& shape, int h_begin, int h_end, float* att) {
  const int head_dim = shape.head_dim, kv_dim = shape.kv_dim();
  const int kv_mul = shape.n_heads / shape.n_kv_heads;
  const float scale = std::sqrt(static_cast<float>(head_dim));
  // The part of each token's K/V vector these heads read.
  const int kv_first = (h_begin / kv_mul) * head_dim;
  const int kv_span = ((h_end - 1) / kv_mul + 1) * head_dim - kv_first;
  auto head_att = [&](int h) { return att + int64_t{h - h_begin} * n_keys; };
  auto kv_offset = [&](int h) { return (h / kv_mul) * head_dim; };

  // Scores: att_h[t] = q_h . k_t / sqrt(head_dim), a block (kBlockTokens keys) at a time.
  for (int t0 = 0; t0 < n_keys; t0 += kBlockTokens) {
    const int count = std::min(kBlockTokens, n_keys - t0);
    float* block = table[t0 / kBlockTokens];
    if (t0 + kBlockTokens < n_keys) {
      PrefetchSlots(KeySlot(table[t0 / kBlockTokens + 1], 0, kv_dim) + kv_first, kv_dim, kv_span);
    }
    for (int h = h_begin; h < h_end; ++h) {
      DotStrided(head_att(h) + t0, q + int64_t{h} * head_dim,
                 KeySlot(block, 0, kv_dim) + kv_offset(h), kv_dim, count, head_dim);
    }
  }
  // Probabilities over the visible tokens, per head.
  for (int h = h_begin; h < h_end; ++h) {
    float* a = head_att(h);
    for (int t = 0; t < n_keys; ++t) a[t] /= scale;
    Softmax(a, n_keys);
  }
  // Weighted sum of the values: out_h = sum_t att_h[t] v_t, accumulated in token order.
  std::fill(out + int64_t{h_begin} * head_dim, out + int64_t{h_end} * head_dim, 0.0f);
  for (int t0 = 0; t0 < n_keys; t0 += kBlockTokens) {
    const int count = std::min(kBlockTokens, n_keys - t0);
    float* block = table[t0 / kBlockTokens];
    if (t0 + kBlockTokens < n_keys) {
      PrefetchSlots(ValueSlot(table[t0 / kBlockTokens + 1], 0, kv_dim) + kv_first, kv_dim,
                    kv_span);
    }
    for (int h = h_begin; h < h_end; ++h) {
      AccumulateWeighted(out + int64_t{h} * head_dim, head_att(h) + t0,
                         ValueSlot(block, 0, kv_dim) + kv_offset(h), kv_dim, count, head_dim);
    }
  }
}

}  // namespace orbitflow
