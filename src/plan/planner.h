// The Planner contract (DESIGN.md): from the decode candidates, the cost model and the device
// capacity, decide each request's distance, whom to pause, how long the plan holds, and the
// predicted step time. OrbitFlow's ILP planner and every baseline implement it; the scheduler
// does not know which one it has.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cost/cost_model.h"
#include "kv/placement.h"
#include "orbitflow/status.h"
#include "orbitflow/types.h"

namespace orbitflow {

// Why the engine asks for a plan (spec section 5, plus ours).
enum class ReplanCause : uint8_t {
  kWindowExpired,   // the plan's window of steps ran out
  kBatchChanged,    // arrival, finish, pause or resume
  kPrefill,         // a prefill was scheduled
  kApplyFailed,     // the executor could not apply the plan (device blocks ran out)
  kDrift,           // measured step times departed from the prediction
  kEveryStep,       // the policy re-plans every step (dynamic heuristic)
  kCount,
};
const char* ReplanCauseName(ReplanCause cause);

// One request the plan must place, as it will be at the planned step.
struct PlanCandidate {
  RequestId id;
  int64_t context_tokens = 0;     // tokens whose KV exists at the planned step (prompt + generated)
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  int64_t remaining_tokens = 0;   // output tokens still to produce
  Seconds slo{0};                 // S_r: per-token SLO
  double deposit_tokens = 0;      // delta_r: Token Deposit (tokens buffered ahead of the SLO)
  Seconds arrival{0};
  bool was_paused = false;        // resuming candidate
  // The distance it decodes at under the plan in force; none when it has no placement yet (new,
  // or paused).
  std::optional<Distance> current;

  int64_t blocks_per_layer() const { return BlocksForTokens(context_tokens); }
};

struct PlanInput {
  int64_t step = 0;
  std::span<const PlanCandidate> requests;
  // Device layer-blocks the candidates may use in total (pool capacity minus what requests
  // outside the plan hold). Headroom is the planner's to apply.
  int64_t device_blocks = 0;
  // Device blocks per layer of the whole pool (FlexGen+-style budgets count per layer).
  int64_t device_blocks_per_layer = 0;
  // The trace's average request length in tokens (FlexGen+ and SLO-aware baselines use it).
  double avg_trace_tokens = 0;
  ReplanCause cause = ReplanCause::kBatchChanged;
  const CostModel* cost = nullptr;
};

struct PlanDecision {
  // One distance per request kept (same order as PlanInput::requests, minus the paused ones).
  std::vector<RequestId> ids;
  std::vector<Distance> distances;
  // Requests the planner pauses (Pause-Resume or preemption).
  std::vector<RequestId> pause;
  // Steps the plan holds before it must be re-solved.
  int window_steps = 32;
  Seconds predicted_step{0};
  // True when the planner could not solve and used its fallback heuristic.
  bool fallback = false;
};

class Planner {
 public:
  virtual ~Planner() = default;
  virtual std::string_view name() const = 0;
  // Returns a decision, or Infeasible when nothing fits even with pausing.
  virtual StatusOr<PlanDecision> Plan(const PlanInput& input) = 0;
  // Policies that recompute every step (dynamic heuristic) say so; others re-plan on triggers.
  virtual bool ReplanEveryStep() const { return false; }
  // The fewest device layer-blocks this policy could give a request holding `tokens` tokens.
  // A request whose minimum exceeds the device pool can never run and fails at admission.
  virtual int64_t MinDeviceBlocks(int64_t tokens, int num_layers) const { return 0; }
};

}  // namespace orbitflow
