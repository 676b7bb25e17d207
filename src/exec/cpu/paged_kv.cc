#include "exec/cpu/paged_kv.h"

#include <limits>
#include <new>

#include <fmt/format.h>

namespace orbitflow {
namespace {
constexpr std::align_val_t kAlign{64};  // a cache line, and an AVX-512 vector
}  // namespace

void KvArena::AlignedDelete::operator()(float* p) const { ::operator delete[](p, kAlign); }

KvArena::KvArena(std::unique_ptr<float[], AlignedDelete> data, int64_t num_blocks, int kv_dim)
    : data_(std::move(data)),
      num_blocks_(num_blocks),
      kv_dim_(kv_dim),
      block_floats_(KvBlockFloats(kv_dim)) {}

StatusOr<KvArena> KvArena::Create(int64_t num_blocks, int kv_dim) {
  if (num_blocks <= 0 || kv_dim <= 0) {
    return InvalidArgument(fmt::format(
        "KV arena: num_blocks = {} and kv_dim = {} must both be positive", num_blocks, kv_dim));
  }
  const int64_t per_block = KvBlockFloats(kv_dim);
  if (num_blocks > std::numeric_limits<int32_t>::max() ||
      num_blocks > std::numeric_limits<int64_t>::max() / int64_t{sizeof(float)} / per_block) {
    return InvalidArgument(fmt::format("KV arena: {} blocks of {} floats overflow", num_blocks,
                                       per_block));
  }
  const int64_t floats = num_blocks * per_block;
  float* raw = static_cast<float*>(
      ::operator new[](static_cast<size_t>(floats) * sizeof(float), kAlign, std::nothrow));
  if (raw == nullptr) {
    return ResourceExhausted(fmt::format(
        "KV arena: cannot allocate {} blocks ({} MiB); lower the pool size", num_blocks,
        floats * int64_t{sizeof(float)} >> 20));
  }
  return KvArena(std::unique_ptr<float[], AlignedDelete>(raw), num_blocks, kv_dim);
}

}  // namespace orbitflow
