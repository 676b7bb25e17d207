#include "kv/block_pool.h"

#include <cassert>
#include <limits>

#include <fmt/format.h>

namespace orbitflow {

BlockPool::BlockPool(Tier tier, int64_t capacity) : tier_(tier), capacity_(capacity) {
  assert(capacity >= 0 && capacity <= std::numeric_limits<BlockId::rep>::max());
}

Status BlockPool::Allocate(int64_t n, std::vector<BlockId>* out) {
  if (n < 0 || n > free()) {
    return ResourceExhausted(fmt::format("{} pool: need {} blocks, {} of {} free", TierName(tier_),
                                         n, free(), capacity_));
  }
  for (int64_t i = 0; i < n; ++i) {
    if (!free_list_.empty()) {
      out->push_back(free_list_.back());
      free_list_.pop_back();
    } else {
      out->push_back(BlockId(static_cast<BlockId::rep>(next_fresh_++)));
    }
  }
  used_ += n;
  return Status::Ok();
}

void BlockPool::Free(std::span<const BlockId> blocks) {
  assert(static_cast<int64_t>(blocks.size()) <= used_);
  free_list_.insert(free_list_.end(), blocks.begin(), blocks.end());
  used_ -= static_cast<int64_t>(blocks.size());
}

}  // namespace orbitflow
