#include "kv/kv_cache_manager.h"

#include <fmt/format.h>

namespace orbitflow {

KvCacheManager::KvCacheManager(const KvCacheOptions& options)
    : num_layers_(options.num_layers),
      device_(Tier::kDevice, options.device_blocks),
      host_(Tier::kHost, options.host_blocks) {}

Status KvCacheManager::AddRequest(RequestId id, const LayerMask& mask) {
  if (requests_.count(id)) return FailedPrecondition(fmt::format("request {} already has KV", id.value()));
  if (mask.num_layers() != num_layers_) {
    return InvalidArgument(fmt::format("mask has {} layers, model has {}", mask.num_layers(), num_layers_));
  }
  RequestKv kv;
  kv.mask = mask;
  kv.layers.resize(num_layers_);
  requests_.emplace(id, std::move(kv));
  return Status::Ok();
}

int64_t KvCacheManager::ExtraDeviceBlocks(RequestId id, int64_t tokens, const LayerMask* mask) const {
  const RequestKv& kv = requests_.at(id);
  const LayerMask& m = mask ? *mask : kv.mask;
  const int64_t want = BlocksForTokens(std::max(tokens, kv.tokens));
  int64_t extra = 0;
  for (int l = 0; l < num_layers_; ++l) {
    if (m.on_device(l)) extra += want - static_cast<int64_t>(kv.layers[l].device.size());
  }
  return extra;
}

Status KvCacheManager::Grow(RequestId id, int64_t tokens) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return NotFound(fmt::format("request {} has no KV", id.value()));
  RequestKv& kv = it->second;
  if (tokens <= kv.tokens) return Status::Ok();
  const int64_t have = BlocksForTokens(kv.tokens);
  const int64_t want = BlocksForTokens(tokens);
  const int64_t per_layer = want - have;
  if (per_layer > 0) {
    const int64_t dev_need = per_layer * kv.mask.NumOnDevice();
    const int64_t host_need = per_layer * num_layers_;
    if (dev_need > device_.free()) {
      return ResourceExhausted(fmt::format("request {}: growing to {} tokens needs {} device blocks, {} free",
                                           id.value(), tokens, dev_need, device_.free()));
    }
    if (host_need > host_.free()) {
      return ResourceExhausted(fmt::format("request {}: growing to {} tokens needs {} host blocks, {} free",
                                           id.value(), tokens, host_need, host_.free()));
    }
    for (int l = 0; l < num_layers_; ++l) {
      // Capacity was checked above, so these cannot fail.
      (void)host_.Allocate(per_layer, &kv.layers[l].host);
      if (kv.mask.on_device(l)) (void)device_.Allocate(per_layer, &kv.layers[l].device);
    }
  }
  kv.tokens = tokens;
  return Status::Ok();
}

StatusOr<PlacementDiff> KvCacheManager::ApplyMask(RequestId id, const LayerMask& mask) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return NotFound(fmt::format("request {} has no KV", id.value()));
  RequestKv& kv = it->second;
  if (mask.num_layers() != num_layers_) return InvalidArgument("mask has the wrong layer count");
  const int64_t blocks = BlocksForTokens(kv.tokens);
  PlacementDiff diff;
  for (int l = 0; l < num_layers_; ++l) {
    if (mask.on_device(l) && !kv.mask.on_device(l)) diff.bring_back.push_back(l);
    if (!mask.on_device(l) && kv.mask.on_device(l)) diff.drop.push_back(l);
  }
  diff.blocks_in = blocks * static_cast<int64_t>(diff.bring_back.size());
  diff.blocks_out = blocks * static_cast<int64_t>(diff.drop.size());
  // Drops free blocks before bring-backs need them, so capacity counts both.
  if (diff.blocks_in - diff.blocks_out > device_.free()) {
    return ResourceExhausted(fmt::format("request {}: new placement needs {} more device blocks, {} free",
                                         id.value(), diff.blocks_in - diff.blocks_out, device_.free()));
  }
  for (int l : diff.drop) {
    device_.Free(kv.layers[l].device);
    kv.layers[l].device.clear();
  }
  for (int l : diff.bring_back) (void)device_.Allocate(blocks, &kv.layers[l].device);
  kv.mask = mask;
  return diff;
}

void KvCacheManager::Release(RequestId id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;
  for (LayerBlocks& lb : it->second.layers) {
    host_.Free(lb.host);
    device_.Free(lb.device);
  }
  requests_.erase(it);
}

int64_t KvCacheManager::DeviceBlocksHeld(RequestId id) const {
  int64_t n = 0;
  for (const LayerBlocks& lb : requests_.at(id).layers) n += static_cast<int64_t>(lb.device.size());
  return n;
}

}  // namespace orbitflow
