// Test-only helpers for planner tests: the paper's cost model and hand-made candidates.
#pragma once

#include <cstdint>
#include <ostream>
#include <span>
#include <vector>

#include "cost/cost_model.h"
#include "cost/cost_profile.h"
#include "model/model_spec.h"
#include "plan/planner.h"

namespace orbitflow {
// Lets GoogleTest print a Distance as the spec writes it (-1 for AllDevice).
inline void PrintTo(Distance d, std::ostream* os) { *os << "d=" << d.spec_value(); }
}  // namespace orbitflow

namespace orbitflow::plan_test {

// Llama-3.1-8B (32 layers) on an A100 with the reference's profiled fits:
// f_compute(X) = 8.89e-7 X + 4.83e-2, f_transfer(X) = 1.81e-5 X + 6.31e-2.
inline CostModel A100Llama8B() {
  const ModelSpec m = *LookupModelSpec("llama-3.1-8b");
  return CostModel(m, BuiltinCostProfile(m, *LookupHardware("a100")));
}

// Llama-3.1-8B with hand-chosen linear fits (seconds), for formulas that need round numbers.
inline CostModel Llama8BWithFits(LinearFit decode_step, LinearFit transfer_step) {
  const ModelSpec m = *LookupModelSpec("llama-3.1-8b");
  CostProfile p = BuiltinCostProfile(m, *LookupHardware("a100"));
  p.decode_step = decode_step;
  p.transfer_step = transfer_step;
  return CostModel(m, p);
}

inline PlanCandidate Candidate(int64_t id, int64_t context_tokens, double arrival_s) {
  PlanCandidate c;
  c.id = RequestId(id);
  c.context_tokens = context_tokens;
  c.prompt_tokens = context_tokens;
  c.arrival = Seconds(arrival_s);
  return c;
}

// REQUIRES: `batch` and `cost` outlive the returned input.
inline PlanInput Input(std::span<const PlanCandidate> batch, int64_t device_blocks,
                       const CostModel& cost, double avg_trace_tokens = 0,
                       ReplanCause cause = ReplanCause::kBatchChanged) {
  PlanInput in;
  in.requests = batch;
  in.device_blocks = device_blocks;
  in.device_blocks_per_layer = device_blocks / cost.num_layers();
  in.avg_trace_tokens = avg_trace_tokens;
  in.cause = cause;
  in.cost = &cost;
  return in;
}

inline std::vector<int64_t> IdValues(const std::vector<RequestId>& ids) {
  std::vector<int64_t> out;
  for (RequestId id : ids) out.push_back(id.value());
  return out;
}

}  // namespace orbitflow::plan_test
