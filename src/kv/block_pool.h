// One tier's pool of KV blocks: owns the free list and the count. A block is one layer's KV for
// kBlockTokens tokens; its bytes (if any) live in the executor's memory for this tier, indexed by
// BlockId. Not thread-safe: the engine thread owns it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "orbitflow/status.h"
#include "orbitflow/types.h"

namespace orbitflow {

class BlockPool {
 public:
  // REQUIRES: capacity >= 0 and fits in BlockId's range.
  BlockPool(Tier tier, int64_t capacity);

  // Appends `n` block ids to `out`, or returns ResourceExhausted and changes nothing.
  Status Allocate(int64_t n, std::vector<BlockId>* out);
  // Returns blocks to the pool. REQUIRES: each was allocated from this pool and not yet freed.
  void Free(std::span<const BlockId> blocks);

  Tier tier() const { return tier_; }
  int64_t capacity() const { return capacity_; }
  int64_t used() const { return used_; }
  int64_t free() const { return capacity_ - used_; }

 private:
  Tier tier_;
  int64_t capacity_;
  int64_t used_ = 0;
  // Ids never handed out are implicit (next_fresh_ .. capacity-1), so a huge host pool costs
  // nothing until used; returned ids go to free_list_ and are reused first.
  int64_t next_fresh_ = 0;
  std::vector<BlockId> free_list_;
};

}  // namespace orbitflow
