// What the real-model commands (generate, bench latency/throughput) share: their model, tier
// and policy flags, and the engine they assemble from them (model, tokenizer, CpuExecutor,
// policy, engine on the steady clock).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "common/clock.h"
#include "cost/cost_model.h"
#include "engine/engine.h"
#include "exec/cpu/cpu_executor.h"
#include "model/tokenizer.h"
#include "model/weights.h"
#include "orbitflow/status.h"
#include "plan/planner.h"

namespace orbitflow {

struct CpuRigFlags {
  std::string model;                 // empty: the bundled stories260K
  std::string tokenizer;             // empty: the model's own (bundled tok512 for stories260K)
  int64_t device_kv_blocks = 0;      // device blocks per layer; 0: everything fits
  std::string policy = "orbitflow";
  double link_gbps = 0.0;
  int threads = 0;
  double tbt_slo_ms = 100;           // per-token SLO the policy plans for (not a flag of AddCpuRigFlags)
};

// Adds --model, --tokenizer, --device-kv-blocks, --policy, --link-gbps, --threads.
void AddCpuRigFlags(CLI::App* app, CpuRigFlags* flags);

// Forwards to the CPU executor and reports every token as it is produced.
class TokenTap final : public Executor {
 public:
  explicit TokenTap(Executor* inner) : inner_(inner) {}
  std::string_view name() const override { return inner_->name(); }
  StatusOr<StepResult> Execute(const StepPlan& plan, const KvCacheManager& kv) override;
  void Release(RequestId id) override { inner_->Release(id); }
  std::function<void(RequestId, int32_t)> on_token;
  std::function<void(const StepResult&)> on_step;

 private:
  Executor* inner_;
};

struct CpuRig {
  Model model;
  Tokenizer tokenizer;
  std::unique_ptr<CpuExecutor> cpu;
  std::unique_ptr<TokenTap> tap;
  std::unique_ptr<Planner> planner;
  std::unique_ptr<CostModel> cost;
  SteadyClock clock;
  std::unique_ptr<Engine> engine;
  int64_t device_blocks_per_layer = 0;
};

// Loads the model and tokenizer (the engine is not built yet).
StatusOr<std::unique_ptr<CpuRig>> LoadCpuRig(const CpuRigFlags& flags);
// Builds executor, policy and engine for `max_batch` requests of up to `max_context` tokens.
Status BuildCpuEngine(const CpuRigFlags& flags, int max_batch, int64_t max_context, CpuRig* rig);

// The bundled stories260K checkpoint (or tokenizer when `tokenizer` is true), looked up next to
// the executable (../../models, ../../../models) and in ./models; NotFound if absent.
StatusOr<std::string> BundledModelPath(bool tokenizer);

}  // namespace orbitflow
