// Paged attention against attention over a contiguous KV cache, and the block layout.
#include "exec/cpu/attention.h"

#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "exec/cpu/test_util.h"

namespace orbitflow {
namespace {

using testing::Rng;

// Contiguous-cache attention in double: keys, values [n_keys][kv_dim].
std::vector<double> ContiguousAttention(const float* q, const std::vector<float>& keys,
                                        const std::vector<float>& values, int n_keys, int kv_dim,
                                        int kv_head, int head_dim) {
  std::vector<double> scores(n_keys);
  double mx = -1e300;
  for (int t = 0; t < n_keys; ++t) {
    double s = 0;
    const float* k = &keys[t * kv_dim + kv_head * head_dim];
    for (int i = 0; i < head_dim; ++i) s += double(q[i]) * k[i];
    scores[t] = s / std::sqrt(double(head_dim));
    mx = std::max(mx, scores[t]);
  }
  double sum = 0;
  for (double& s : scores) sum += s = std::exp(s - mx);
  std::vector<double> out(head_dim, 0.0);
  for (int t = 0; t < n_keys; ++t) {
    for (int i = 0; i < head_dim; ++i) {
      out[i] += scores[t] / sum * values[t * kv_dim + kv_head * head_dim + i];
    }
  }
  return out;
}

// Copies token t's key/value into the table's slots.
void FillTable(KvBlockTable table, const std::vector<float>& keys,
               const std::vector<float>& values, int n_keys, int kv_dim) {
  for (int t = 0; t < n_keys; ++t) {
    std::memcpy(KeyAt(table, t, kv_dim), &keys[t * kv_dim], sizeof(float) * kv_dim);
    std::memcpy(ValueAt(table, t, kv_dim), &values[t * kv_dim], sizeof(float) * kv_dim);
  }
}

TEST(PagedKvTest, BlockLayoutIsKeysThenValues) {
  const int kv_dim = 8;
  auto arena = KvArena::Create(3, kv_dim);
  ASSERT_TRUE(arena.ok());
  EXPECT_EQ(arena->block_floats(), 2 * kBlockTokens * kv_dim);
  EXPECT_EQ(arena->bytes().count(), 3 * 2 * kBlockTokens * kv_dim * 4);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(arena->block(BlockId(0))) % 64, 0u);
  float* b1 = arena->block(BlockId(1));
  EXPECT_EQ(b1, arena->block(BlockId(0)) + arena->block_floats());
  EXPECT_EQ(KeySlot(b1, 5, kv_dim), b1 + 5 * kv_dim);
  EXPECT_EQ(ValueSlot(b1, 5, kv_dim), b1 + (kBlockTokens + 5) * kv_dim);
  float* blocks[] = {arena->block(BlockId(2)), b1};
  const KvBlockTable table(blocks);
  EXPECT_EQ(KeyAt(table, 17, kv_dim), KeySlot(b1, 1, kv_dim));  // token 17: block 1, slot 1
  EXPECT_EQ(ValueAt(table, 3, kv_dim), ValueSlot(blocks[0], 3, kv_dim));

  EXPECT_FALSE(KvArena::Create(0, kv_dim).ok());
  EXPECT_FALSE(KvArena::Create(4, 0).ok());
}

// Blocks scattered in memory in random order give the same attention as blocks in address
// order (bit for bit), and both match a contiguous cache to within float rounding. Grouped-query
// attention: 6 query heads over 3 kv heads.
TEST(PagedAttentionTest, MatchesContiguousCacheWhateverTheBlockOrder) {
  Rng rng(11);
  const AttentionShape shape{.n_heads = 6, .n_kv_heads = 3, .head_dim = 16};
  const int head_dim = shape.head_dim, kv_dim = shape.kv_dim(), q_dim = shape.n_heads * head_dim;
  for (int n_keys : {1, 15, 16, 17, 100, 257}) {
    std::vector<float> keys(n_keys * kv_dim), values(n_keys * kv_dim), q(q_dim);
    testing::FillUniform(rng, keys.data(), keys.size(), 2.0f);
    testing::FillUniform(rng, values.data(), values.size(), 1.0f);
    testing::FillUniform(rng, q.data(), q.size(), 2.0f);

    const int n_blocks = static_cast<int>(BlocksForTokens(n_keys));
    auto arena = KvArena::Create(2 * n_blocks, kv_dim);
    ASSERT_TRUE(arena.ok());
    // Table A: blocks in address order; table B: a random permutation of the other half.
    std::vector<float*> in_order, shuffled;
    std::vector<int> ids(n_blocks);
    for (int b = 0; b < n_blocks; ++b) {
      in_order.push_back(arena->block(BlockId(b)));
      ids[b] = n_blocks + b;
    }
    for (int i = n_blocks - 1; i > 0; --i) std::swap(ids[i], ids[rng.Below(i + 1)]);
    for (int id : ids) shuffled.push_back(arena->block(BlockId(id)));
    FillTable(in_order, keys, values, n_keys, kv_dim);
    FillTable(shuffled, keys, values, n_keys, kv_dim);

    std::vector<float> att(shape.n_heads * n_keys), out_a(q_dim), out_b(q_dim), one(q_dim);
    PagedAttention(out_a.data(), q.data(), in_order, n_keys, shape, 0, shape.n_heads, att.data());
    PagedAttention(out_b.data(), q.data(), shuffled, n_keys, shape, 0, shape.n_heads, att.data());
    EXPECT_EQ(0, std::memcmp(out_a.data(), out_b.data(), sizeof(float) * q_dim));
    for (int h = 0; h < shape.n_heads; ++h) {
      // Each head alone gives the same bits as all heads together.
      PagedAttention(one.data(), q.data(), shuffled, n_keys, shape, h, h + 1, att.data());
      EXPECT_EQ(0, std::memcmp(&one[h * head_dim], &out_a[h * head_dim], sizeof(float) * head_dim));
      const int kv_head = h / (shape.n_heads / shape.n_kv_heads);
      const auto want = ContiguousAttention(&q[h * head_dim], keys, values, n_keys, kv_dim,
                                            kv_head, head_dim);
      for (int i = 0; i < head_dim; ++i) {
        EXPECT_NEAR(out_a[h * head_dim + i], want[i], 1e-6) << "n_keys=" << n_keys << " head=" << h;
      }
    }
  }
}

}  // namespace
}  // namespace orbitflow
