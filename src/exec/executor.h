// The scheduler-to-executor contract (DESIGN.md, Contracts): two plain structs and one interface,
// so the simulated GPU, the CPU executor and a future CUDA executor plug in behind the same loop.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "kv/kv_cache_manager.h"
#include "kv/placement.h"
#include "orbitflow/status.h"
#include "orbitflow/types.h"

namespace orbitflow {

// Prompt tokens [begin, end) of one request to prefill this step.
struct PrefillWork {
  RequestId id;
  int64_t begin = 0;
  int64_t end = 0;
  bool last_chunk = true;                 // the chunk that completes the prompt produces a token
  std::span<const int32_t> tokens;        // the chunk's ids (empty in simulation)
};

// One decode request this step: appends one token at position `context_tokens`.
struct DecodeWork {
  RequestId id;
  int64_t context_tokens = 0;             // tokens already in the KV cache
  int32_t input_token = 0;                // the token fed in (real executors)
  Distance distance = Distance::AllDevice();
};

// Residency changes the KV cache manager already made for this step; the executor moves bytes.
struct KvMove {
  RequestId id;
  PlacementDiff diff;
};

struct StepPlan {
  int64_t step = 0;
  std::vector<PrefillWork> prefills;
  std::vector<DecodeWork> decodes;
  std::vector<KvMove> moves;
  std::vector<RequestId> paused;          // requests paused this step (device blocks just freed)
  int64_t batch_tokens = 0;               // total context tokens of the decode batch
};

struct TokenOutput {
  RequestId id;
  int32_t token = 0;
};

struct StepResult {
  Seconds step_time{0};                   // wall (or virtual) time of the whole step
  Seconds compute{0};                     // decode compute
  Seconds stall{0};                       // waiting for KV to arrive over the link
  Seconds prefill{0};
  Seconds moves{0};                       // bringing layers back after a plan change
  // The rest of the step: work outside the layers (host mirror writes, sampling, building block
  // tables). 0 in the simulator, whose steps are their layers.
  Seconds overhead{0};
  // Time the host-to-device link spent moving `h2d` (0: not measured). With h2d it gives the
  // achieved bandwidth, which the engine's online cost refit learns from.
  Seconds link_busy{0};
  std::vector<Seconds> layer_compute;     // per layer, decode
  Bytes h2d;                              // host -> device
  Bytes d2h;                              // device -> host (mirror writes)
  std::vector<TokenOutput> tokens;        // one per decode request and per completed prefill
  bool plan_applied = true;
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::string_view name() const = 0;
  // Runs one step. REQUIRES: the KV cache manager already holds blocks for every token the step
  // writes, in the residency of the plan.
  virtual StatusOr<StepResult> Execute(const StepPlan& plan, const KvCacheManager& kv) = 0;
  // Forget per-request state (finished, cancelled, failed).
  virtual void Release(RequestId id) {}
};

}  // namespace orbitflow
