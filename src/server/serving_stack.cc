#include "server/serving_stack.h"

#include <algorithm>

#include "cost/cost_profile.h"
#include "kv/kv_cache_manager.h"
#include "orbitflow/types.h"

namespace orbitflow {

StatusOr<std::unique_ptr<ServingStack>> BuildServingStack(const Model* model, const Tokenizer* tokenizer,
                                                          std::unique_ptr<Planner> planner,
                                                          const ServingStackOptions& o) {
  if (o.max_batch < 1) return InvalidArgument("--max-batch must be at least 1");
  auto s = std::make_unique<ServingStack>();
  s->model = model;
  s->tokenizer = tokenizer;
  s->planner = std::move(planner);
  const ModelSpec& spec = model->spec;
  const int L = spec.n_layers;
  // Host: every running request's full context plus a block of slack each.
  const int64_t full = int64_t{o.max_batch} * (BlocksForTokens(spec.max_seq_len) + 1);
  s->host_blocks_per_layer = o.host_kv_blocks > 0 ? o.host_kv_blocks : full;
  s->device_blocks_per_layer = o.device_kv_blocks > 0 ? o.device_kv_blocks : full;
  CpuExecutorOptions eo{.num_threads = o.threads, .link_gbps = o.link_gbps,
                        .device_blocks = s->device_blocks_per_layer * L,
                        .host_blocks = s->host_blocks_per_layer * L,
                        .max_batch_tokens = std::max(256, o.max_batch), .max_batch = o.max_batch};
  OF_ASSIGN_OR_RETURN(s->cpu, CpuExecutor::Create(model, eo));
  CostProfile profile;
  if (!o.cost_profile.empty()) {
    OF_ASSIGN_OR_RETURN(profile, LoadCostProfile(o.cost_profile));
  } else {
    OF_ASSIGN_OR_RETURN(HardwareProfile hw, LookupHardware("a100"));
    profile = BuiltinCostProfile(spec, hw);
  }
  s->cost = std::make_unique<CostModel>(spec, profile);
  return s;
}

EngineServiceDeps ServingStack::Deps(const ServingStackOptions& o) {
  EngineOptions e;
  e.scheduler.max_batch = o.max_batch;
  e.scheduler.chunked_prefill = true;
  e.scheduler.prefill_chunk_tokens = 256;
  e.device_blocks_per_layer = device_blocks_per_layer;
  e.host_blocks = host_blocks_per_layer * model->spec.n_layers;
  e.max_context = model->spec.max_seq_len;
  e.default_slo = Seconds(o.tbt_slo_ms / 1000.0);
  e.eos_token = tokenizer->eos_id();
  e.plan_on_thread = true;  // solve for step t+1 while step t runs
  // Learn this machine's step times: a built-in GPU profile is far off for a CPU, so it may move
  // a long way; a measured one only within the default bound.
  e.refit_cost = true;
  if (o.cost_profile.empty()) e.refit.max_ratio = 1e4;
  e.calibrate_slo = true;  // plan with the margin the measured steps show (cost/step_calibration.h)
  CpuExecutor* cpu_ptr = cpu.get();
  return EngineServiceDeps{.engine = e, .cost = cost.get(), .planner = planner.get(), .executor = cpu_ptr,
                           .clock = &clock,
                           .set_sampling = [cpu_ptr](RequestId id, const SamplerOptions& so) {
                             return cpu_ptr->SetSampling(id, so);
                           }};
}

}  // namespace orbitflow
