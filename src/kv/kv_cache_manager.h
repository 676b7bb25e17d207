// The KV cache manager: for each request and layer, which blocks hold its KV and where they live.
//
// Two tiers (spec section 2): the host keeps a complete mirror of every request's KV
// (write-through), so every layer always has host blocks; a layer that is device-resident also
// has device blocks. Offloading a layer only frees its device blocks; bringing it back allocates
// device blocks (and the executor copies host -> device). A block keeps its identity in its tier;
// the executor owns the bytes. Every operation is all-or-nothing: on error nothing changed.
// Not thread-safe: owned by the engine thread.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "kv/block_pool.h"
#include "kv/placement.h"
#include "orbitflow/status.h"
#include "orbitflow/types.h"

namespace orbitflow {

struct KvCacheOptions {
  int num_layers = 0;
  // Device capacity in layer-blocks, shared by all layers (blocks per layer x layers).
  int64_t device_blocks = 0;
  // Host capacity in layer-blocks (the mirror of everything live).
  int64_t host_blocks = int64_t{1} << 30;
};

struct LayerBlocks {
  std::vector<BlockId> host;    // always ceil(tokens / 16) blocks: the mirror
  std::vector<BlockId> device;  // same count when the layer is device-resident, else empty
};

struct RequestKv {
  int64_t tokens = 0;  // tokens whose KV the blocks hold (capacity, not necessarily written)
  LayerMask mask;      // which layers are device-resident
  std::vector<LayerBlocks> layers;
};

// What changing a request's residency did, for the executor to move bytes.
struct PlacementDiff {
  std::vector<int> bring_back;  // layers copied host -> device (device blocks allocated)
  std::vector<int> drop;        // layers whose device blocks were freed (no copy needed)
  int64_t blocks_in = 0;        // layer-blocks copied host -> device
  int64_t blocks_out = 0;       // layer-blocks freed on the device
};

class KvCacheManager {
 public:
  explicit KvCacheManager(const KvCacheOptions& options);

  // Registers a request with no tokens yet and the given residency.
  Status AddRequest(RequestId id, const LayerMask& mask);
  // Grows every layer to hold `tokens` tokens: host blocks for all layers, device blocks for
  // resident ones. Shrinking is not supported (tokens < current is a no-op).
  Status Grow(RequestId id, int64_t tokens);
  // Changes residency; all-or-nothing on device capacity.
  StatusOr<PlacementDiff> ApplyMask(RequestId id, const LayerMask& mask);
  // Returns every block of the request to its pool (finish, cancel, failure).
  void Release(RequestId id);

  // Device blocks the request would need in addition to what it holds to grow to `tokens` under
  // `mask` (its current mask if null).
  int64_t ExtraDeviceBlocks(RequestId id, int64_t tokens, const LayerMask* mask = nullptr) const;

  bool Has(RequestId id) const { return requests_.count(id) > 0; }
  // REQUIRES: Has(id).
  const RequestKv& Get(RequestId id) const { return requests_.at(id); }
  int64_t DeviceBlocksHeld(RequestId id) const;
  size_t num_requests() const { return requests_.size(); }
  int num_layers() const { return num_layers_; }

  const BlockPool& device_pool() const { return device_; }
  const BlockPool& host_pool() const { return host_; }

 private:
  int num_layers_;
  BlockPool device_;
  BlockPool host_;
  std::unordered_map<RequestId, RequestKv> requests_;
};

}  // namespace orbitflow
