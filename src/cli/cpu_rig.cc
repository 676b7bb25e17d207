#include "cli/cpu_rig.h"

#include <filesystem>

#include <fmt/format.h>

#include "cli/policies.h"
#include "model/loader.h"

namespace orbitflow {
namespace {

// "fixed:D": every request at distance D (-1 = all on the device), never paused. For measuring
// the cost of a given offload fraction, not for serving.
class FixedDistancePlanner final : public Planner {
 public:
  explicit FixedDistancePlanner(Distance d) : d_(d) {}
  std::string_view name() const override { return "fixed"; }
  StatusOr<PlanDecision> Plan(const PlanInput& in) override {
    PlanDecision out;
    out.window_steps = 1 << 20;
    for (const PlanCandidate& c : in.requests) {
      out.ids.push_back(c.id);
      out.distances.push_back(d_);
    }
    return out;
  }

 private:
  Distance d_;
};

StatusOr<std::unique_ptr<Planner>> MakeRigPolicy(const std::string& name) {
  if (name.starts_with("fixed:")) {
    int d = 0;
    try {
      d = std::stoi(name.substr(6));
    } catch (...) {
      return InvalidArgument(fmt::format("--policy {}: expected fixed:<distance>", name));
    }
    if (d < -1) return InvalidArgument(fmt::format("--policy {}: distance must be >= -1", name));
    return std::unique_ptr<Planner>(new FixedDistancePlanner(d < 0 ? Distance::AllDevice() : Distance::Every(d)));
  }
  return MakePolicy(name, PolicyOptions{});
}

}  // namespace

void AddCpuRigFlags(CLI::App* app, CpuRigFlags* f) {
  app->add_option("--model", f->model, "llama2.c .bin, GGUF file or synthetic:<name>; default: "
                                        "the bundled stories260K");
  app->add_option("--tokenizer", f->tokenizer, "tokenizer file (llama2.c tokenizer.bin or GGUF); "
                                               "default: the model's own");
  app->add_option("--device-kv-blocks", f->device_kv_blocks,
                  "device KV pool, in 16-token blocks per layer (0: every request fits)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--policy", f->policy, "placement policy: " + fmt::format("{}", fmt::join(AllPolicyNames(), ", ")) +
                                      ", or fixed:<d> (every request at distance d; -1 = all on device)")
      ->capture_default_str();
  app->add_option("--link-gbps", f->link_gbps, "emulated host<->device link in GB/s (0: memcpy)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app->add_option("--threads", f->threads, "compute threads (0: all cores)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
}

StatusOr<StepResult> TokenTap::Execute(const StepPlan& plan, const KvCacheManager& kv) {
  auto r = inner_->Execute(plan, kv);
  if (r.ok()) {
    if (on_step) on_step(*r);
    if (on_token) {
      for (const TokenOutput& t : r->tokens) on_token(t.id, t.token);
    }
  }
  return r;
}

StatusOr<std::string> BundledModelPath(bool tokenizer) {
  namespace fs = std::filesystem;
  const char* file = tokenizer ? "tok512.bin" : "stories260K.bin";
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> dirs;
  if (!ec) {
    dirs.push_back(exe.parent_path() / "../../models");
    dirs.push_back(exe.parent_path() / "../../../models");
  }
  dirs.push_back(fs::current_path(ec) / "models");
  for (const fs::path& d : dirs) {
    const fs::path p = d / "stories260K" / file;
    if (fs::exists(p, ec)) return fs::weakly_canonical(p, ec).string();
  }
  return NotFound(fmt::format("no --model given and the bundled models/stories260K/{} was not "
                              "found next to the executable or in ./models", file));
}

StatusOr<std::unique_ptr<CpuRig>> LoadCpuRig(const CpuRigFlags& f) {
  auto rig = std::make_unique<CpuRig>();
  std::string model_path = f.model, tok_path = f.tokenizer;
  if (model_path.empty()) {
    OF_ASSIGN_OR_RETURN(model_path, BundledModelPath(false));
    if (tok_path.empty()) {
      OF_ASSIGN_OR_RETURN(tok_path, BundledModelPath(true));
    }
  }
  OF_ASSIGN_OR_RETURN(rig->model, LoadModel(model_path));
  if (tok_path.empty() && !rig->model.spec.synthetic && model_path.ends_with(".gguf")) tok_path = model_path;
  OF_ASSIGN_OR_RETURN(rig->tokenizer, TokenizerForModel(rig->model.spec, tok_path));
  return rig;
}

Status BuildCpuEngine(const CpuRigFlags& f, int max_batch, int64_t max_context, CpuRig* rig) {
  const ModelSpec& spec = rig->model.spec;
  const int L = spec.n_layers;
  if (max_context > spec.max_seq_len) {
    return InvalidArgument(fmt::format("{} tokens exceed the model's context of {}", max_context,
                                       spec.max_seq_len));
  }
  // Host: every request's full context plus a block of slack each; device: as asked.
  const int64_t host_per_layer = max_batch * (BlocksForTokens(max_context) + 1);
  rig->device_blocks_per_layer = f.device_kv_blocks > 0 ? f.device_kv_blocks : host_per_layer;
  CpuExecutorOptions eo{.num_threads = f.threads, .link_gbps = f.link_gbps,
                        .device_blocks = rig->device_blocks_per_layer * L,
                        .host_blocks = host_per_layer * L,
                        .max_batch_tokens = std::max(256, max_batch), .max_batch = max_batch};
  OF_ASSIGN_OR_RETURN(rig->cpu, CpuExecutor::Create(&rig->model, eo));
  rig->tap = std::make_unique<TokenTap>(rig->cpu.get());
  OF_ASSIGN_OR_RETURN(rig->planner, MakeRigPolicy(f.policy));
  OF_ASSIGN_OR_RETURN(HardwareProfile hw, LookupHardware("a100"));
  rig->cost = std::make_unique<CostModel>(spec, BuiltinCostProfile(spec, hw));
  EngineOptions o;
  o.scheduler.max_batch = max_batch;
  o.scheduler.chunked_prefill = true;
  o.scheduler.prefill_chunk_tokens = 256;
  o.device_blocks_per_layer = rig->device_blocks_per_layer;
  o.host_blocks = eo.host_blocks;
  o.max_context = max_context;
  o.plan_on_thread = true;  // live engine: solve for step t+1 while step t runs
  o.refit_cost = true;      // the built-in GPU profile is far off for a CPU: learn this machine
  o.refit.max_ratio = 1e4;
  o.default_slo = Seconds(f.tbt_slo_ms / 1000.0);
  o.calibrate_slo = true;   // and what the model's shape misses (cost/step_calibration.h)
  o.eos_token = rig->tokenizer.eos_id();
  rig->engine = std::make_unique<Engine>(o, rig->cost.get(), rig->planner.get(), rig->tap.get(),
                                         &rig->clock);
  return Status::Ok();
}

}  // namespace orbitflow
