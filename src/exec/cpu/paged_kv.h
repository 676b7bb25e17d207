// Paged KV memory of the CPU executor: the block layout, the per-sequence block table the forward
// pass reads through, and the arena that holds one tier's blocks.
//
// A block holds ONE layer's keys and values for kBlockTokens consecutive tokens:
//   K [kBlockTokens][kv_dim] then V [kBlockTokens][kv_dim]   (floats, contiguous)
// Token t of a sequence lives in slot t % kBlockTokens of the t / kBlockTokens-th block of the
// layer's block table. The forward pass sees only block base pointers, so it does not know (or
// care) whether a block sits in the device pool, the host pool or a prefetch region holding a
// copy: that is the executor's business.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "orbitflow/status.h"
#include "orbitflow/types.h"

namespace orbitflow {

// One layer's blocks of one sequence, in token order.
using KvBlockTable = std::span<float* const>;

// Floats in one block.
constexpr int64_t KvBlockFloats(int kv_dim) { return int64_t{2} * kBlockTokens * kv_dim; }

// Key / value vector of slot `slot` (0..kBlockTokens-1) of a block.            [kv_dim]
inline float* KeySlot(float* block, int slot, int kv_dim) {
  return block + int64_t{slot} * kv_dim;
}
inline float* ValueSlot(float* block, int slot, int kv_dim) {
  return block + int64_t{kBlockTokens + slot} * kv_dim;
}

// Key / value vector of token `t` through a block table.                        [kv_dim]
inline float* KeyAt(KvBlockTable table, int t, int kv_dim) {
  return KeySlot(table[t / kBlockTokens], t % kBlockTokens, kv_dim);
}
inline float* ValueAt(KvBlockTable table, int t, int kv_dim) {
  return ValueSlot(table[t / kBlockTokens], t % kBlockTokens, kv_dim);
}

// A pool of blocks in one contiguous, 64-byte aligned allocation; BlockId i is the i-th block.
// It owns bytes only: which ids are free is the KV cache manager's BlockPool's job. Contents are
// not initialised; the forward pass writes a slot before anything reads it.
class KvArena {
 public:
  // REQUIRES nothing; returns InvalidArgument for non-positive sizes and ResourceExhausted when
  // the memory cannot be allocated.
  static StatusOr<KvArena> Create(int64_t num_blocks, int kv_dim);

  KvArena(KvArena&&) = default;
  KvArena& operator=(KvArena&&) = default;

  // Base of block `id`.                                          [2][kBlockTokens][kv_dim]
  // REQUIRES: 0 <= id < num_blocks().
  float* block(BlockId id) const { return data_.get() + id.value() * block_floats_; }

  int64_t num_blocks() const { return num_blocks_; }
  int kv_dim() const { return kv_dim_; }
  int64_t block_floats() const { return block_floats_; }
  Bytes block_bytes() const { return Bytes(block_floats_ * int64_t{sizeof(float)}); }
  Bytes bytes() const { return block_bytes() * num_blocks_; }

 private:
  struct AlignedDelete {
    void operator()(float* p) const;
  };
  KvArena(std::unique_ptr<float[], AlignedDelete> data, int64_t num_blocks, int kv_dim);

  std::unique_ptr<float[], AlignedDelete> data_;
  int64_t num_blocks_ = 0;
  int kv_dim_ = 0;
  int64_t block_floats_ = 0;
};

}  // namespace orbitflow
