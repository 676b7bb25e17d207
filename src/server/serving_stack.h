// The live engine's parts for serving a real model on the CPU executor: executor, cost model
// and engine options sized for the server's batch and the model's context. The caller loads the
// model and tokenizer and picks the policy (the CLI owns policy names).
#pragma once

#include <cstdint>
#include <memory>

#include "common/clock.h"
#include "cost/cost_model.h"
#include "exec/cpu/cpu_executor.h"
#include "model/tokenizer.h"
#include "model/weights.h"
#include "plan/planner.h"
#include "server/engine_service.h"

namespace orbitflow {

struct ServingStackOptions {
  int max_batch = 16;
  int64_t device_kv_blocks = 0;   // device blocks per layer; 0: every running request fits
  int64_t host_kv_blocks = 0;     // host blocks per layer; 0: every running request's full context
  double link_gbps = 0.0;         // emulated link (0: memcpy)
  int threads = 0;                // compute threads (0: all cores)
  double tbt_slo_ms = 100;        // default per-token SLO
  std::string cost_profile;       // measured profile JSON; empty: a built-in one
};

struct ServingStack {
  const Model* model = nullptr;
  const Tokenizer* tokenizer = nullptr;
  std::unique_ptr<Planner> planner;
  std::unique_ptr<CpuExecutor> cpu;
  std::unique_ptr<CostModel> cost;
  SteadyClock clock;
  int64_t device_blocks_per_layer = 0;
  int64_t host_blocks_per_layer = 0;

  // The service's dependencies (pointers into this stack).
  EngineServiceDeps Deps(const ServingStackOptions& options);
};

// `model`, `tokenizer` must outlive the stack.
StatusOr<std::unique_ptr<ServingStack>> BuildServingStack(const Model* model, const Tokenizer* tokenizer,
                                                          std::unique_ptr<Planner> planner,
                                                          const ServingStackOptions& options);

}  // namespace orbitflow
