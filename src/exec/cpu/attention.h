// Attention over one sequence's paged KV cache (one layer): the only place the forward pass
// reads the cache.
#pragma once

#include "exec/cpu/paged_kv.h"

namespace orbitflow {

struct AttentionShape {
  int n_heads = 0;     // query heads
  int n_kv_heads = 0;  // key/value heads; query head h reads kv head h / (n_heads / n_kv_heads)
  int head_dim = 0;
  int kv_dim() const { return n_kv_heads * head_dim; }
};

// For each query head h in [h_begin, h_end) of one token:
//   out_h = softmax(q_h K_h^T / sqrt(head_dim)) V_h  over tokens [0, n_keys) of the table.
//   out, q [n_heads * head_dim] (only the heads in range are read or written);
//   table: blocks covering n_keys tokens, each K/V [kBlockTokens][kv_dim];
//   att [h_end - h_begin][n_keys] scratch (holds the probabilities on return).
// Each head's result depends only on the values, not on the block addresses or on which other
// heads share the call: tokens are visited in order 0..n_keys-1 for every head. Heads are done
// together so the blocks are read as contiguous runs (all their slices of a token's vector).
void PagedAttention(float* out, const float* q, KvBlockTable table, int n_keys,
                    const AttentionShape& shape, int h_begin, int h_end, float* att);

}  // namespace orbitflow
