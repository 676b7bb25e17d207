// The real CPU executor (DESIGN.md, "Real CPU executor"): runs each StepPlan through the Llama
// forward pass with the KV cache in two real memory tiers, moving bytes exactly as a GPU executor
// would move them between device and host memory.
//
// Memory (all float blocks of kv/paged_kv.h layout, indexed by the KvCacheManager's BlockIds):
//   device arena   options.device_blocks blocks: layers the plan keeps resident
//   host arena     options.host_blocks blocks: the complete write-through mirror
//   prefetch region  kPrefetchSlots one-layer-wide slots on the "device" where offloaded layers
//                  of the decode batch are copied just before use (grown on demand)
//
// One step:
//   1. Moves (plan.moves): PlacementDiff::bring_back layers are copied host -> device by the copy
//      engine, first in its queue; drops need no copy (the manager already freed the blocks).
//   2. Prefill chunks run in their own Forward call(s). A resident layer writes its device
//      blocks; an offloaded layer is computed against its host blocks directly (a prefill writes
//      straight to the host tier, as the simulator models it), so a prefill never waits for the
//      link except for the moves of its own layers.
//   3. Decode runs as one Forward call. Request r's offloaded layer l is copied into a prefetch
//      slot by the copy engine thread, released when the pass reaches layer
//      l - r.distance.PrefetchAhead() and when the slot's previous user is done; the pass waits
//      for it in LayerGate::WaitForLayer (that wait is the step's stall).
//   4. Write-through: after each layer the new tokens' K/V of every entry whose table block is
//      not already the host block are copied into the host mirror (one write per layer per
//      request per step), counted in d2h.
// Tokens: one per decode and per last prefill chunk, sampled with the request's own Sampler
// (greedy unless SetSampling said otherwise), so a request's tokens do not depend on its batch
// or placement (forward.h, Reproducibility).
//
// Thread safety: Execute, SetSampling and Release are called from one engine thread. The copy
// engine thread is internal; it touches only the blocks of jobs the engine thread queued.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "exec/cpu/forward.h"
#include "exec/cpu/paged_kv.h"
#include "exec/cpu/thread_pool.h"
#include "exec/executor.h"
#include "model/sampler.h"
#include "model/weights.h"
#include "orbitflow/status.h"

namespace orbitflow {

class CopyEngine;

struct CpuExecutorOptions {
  // Compute threads of the forward pass; 0 = std::thread::hardware_concurrency().
  int num_threads = 0;
  // Emulated host <-> device link bandwidth in GB/s (1e9 bytes/s); copies are paced so they
  // take as long as they would over such a link. 0 = unthrottled memcpy.
  double link_gbps = 0.0;
  // Device pool capacity in layer-blocks. MUST equal the KvCacheManager's device capacity
  // (EngineOptions::device_blocks_per_layer x layers); Execute checks it.
  int64_t device_blocks = 4096;
  // Host pool capacity in layer-blocks (the mirror of every live request). Host BlockIds the
  // manager hands out must stay below it (give the engine the same host_blocks).
  int64_t host_blocks = 16384;
  // Most tokens (rows) in one forward call; larger prefill chunks are split into pieces.
  int max_batch_tokens = 256;
  // Most decode requests in one step (the scheduler's max_batch must not exceed it).
  int max_batch = 64;

  // InvalidArgument naming the field that is out of range.
  Status Validate() const;
};

class CpuExecutor final : public Executor {
 public:
  // Allocates the arenas, the run state, the compute pool and the copy engine thread. `model`
  // must outlive the executor. InvalidArgument for bad options, ResourceExhausted when the
  // arenas cannot be allocated.
  static StatusOr<std::unique_ptr<CpuExecutor>> Create(const Model* model,
                                                       const CpuExecutorOptions& options);
  ~CpuExecutor() override;

  std::string_view name() const override { return "cpu"; }
  StatusOr<StepResult> Execute(const StepPlan& plan, const KvCacheManager& kv) override;
  // Forgets the request's sampler (finished, cancelled, failed).
  void Release(RequestId id) override;

  // How request `id` picks its tokens; call after Engine::Submit, before its first step. A
  // request never given options decodes greedily. InvalidArgument for invalid options.
  Status SetSampling(RequestId id, const SamplerOptions& options);

  const CpuExecutorOptions& options() const { return options_; }
  const Model& model() const { return *model_; }

  // Slots of the prefetch region: two, so with d = 0 (every layer offloaded) layer l + 1 is
  // copied while layer l computes from the other slot.
  static constexpr int kPrefetchSlots = 2;

 private:
  struct Impl;
  explicit CpuExecutor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  const Model* model_;
  CpuExecutorOptions options_;
};

}  // namespace orbitflow
