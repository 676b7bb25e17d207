#include "cli/simulate_command.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <numeric>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cost/cost_model.h"
#include "engine/simulation.h"
#include "metrics/csv_writer.h"
#include "workload/named_workloads.h"
#include "workload/workload.h"

namespace orbitflow {

Command AddSimulateCommand(CLI::App& app) {
  auto opts = std::make_shared<SimulateOptions>();
  SimulateOptions* o = opts.get();
  CLI::App* cmd = app.add_subcommand(
      "simulate", "Replay a workload on the simulated GPU under each policy and score SLO attainment");
  cmd->add_option("--model", o->model, "Model shape: llama-3.1-8b, llama-3-70b, llama-3-70b-tp2, "
                                       "llama-3-70b-tp4, llama-3.2-1b, stories260k, stories110m")
      ->capture_default_str();
  cmd->add_option("--gpu", o->gpu, "Built-in GPU profile: rtx-a6000, a100-80gb, h100-80gb")->capture_default_str();
  cmd->add_option("--profile", o->profile, "Measured cost profile (JSON from `orbitflow profile`); overrides --gpu's fits")
      ->check(CLI::ExistingFile);
  auto* wl = cmd->add_option("--workload", o->workload, "Named workload: paper-32k, paper-128k");
  auto* tr = cmd->add_option("--trace", o->trace, "Trace file to replay instead of a named workload")
                 ->check(CLI::ExistingFile);
  wl->excludes(tr);
  cmd->add_option("--trace-format", o->trace_format, "Trace format: azure|mooncake|lengths|orbitflow (default: from the file)");
  cmd->add_option("--policies", o->policies, "Comma-separated policies, or 'all'")->capture_default_str();
  cmd->add_option("--slo-scale", o->slo_scale, "Per-token SLO as a multiple of the all-on-device step time with the device KV full")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--rate-scale", o->rate_scale, "Load multiplier: paper workloads pick/scale the trace for it; other traces divide arrival gaps by it")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--cv", o->cv, "Coefficient of variation of synthetic arrivals (lengths traces)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--request-rate", o->request_rate, "Requests per second of synthetic arrivals (lengths traces)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", o->batch_size, "Decode batch-size limit (default: the trace header, else 32)")->check(CLI::PositiveNumber);
  cmd->add_option("--device-kv-blocks", o->device_kv_blocks, "Device KV blocks per layer (default: the trace header, else what the GPU's memory holds)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-requests", o->max_requests, "Replay only the first N requests")->check(CLI::PositiveNumber);
  cmd->add_option("--planner-mode", o->planner_mode, "ahead: solver time hidden behind the step (reported); sync: charged to the step")
      ->check(CLI::IsMember({"ahead", "sync"}))->capture_default_str();
  cmd->add_option("--pause-strategy", o->policy.pause_strategy, "Pause-Resume victim: longest|shortest|random|slo-loose|slo-strict")
      ->capture_default_str();
  cmd->add_option("--planner-backend", o->policy.planner_backend, "OrbitFlow solver: exact|milp")->capture_default_str();
  cmd->add_option("--slo-miss-model", o->policy.slo_miss_model,
                  "OrbitFlow ILP: how a step time above the SLO counts (rate: the reference's 1 - S/T - deposit/W; "
                  "deposit: the share of tokens Token Deposit cannot cover)")
      ->capture_default_str();
  cmd->add_option("--slo-budget", o->policy.slo_budget_f, "OrbitFlow ILP: F, the allowed sum of per-request SLO-miss shares")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_flag("--chunked-prefill", o->chunked_prefill, "Mix prompt chunks with decode steps");
  cmd->add_option("--compute-noise", o->compute_noise, "Log-normal sigma of simulated compute noise (0 = off)")->capture_default_str();
  cmd->add_option("--sim-compute-scale", o->sim_compute_scale,
                  "The simulated GPU computes this many times slower than the profile the planner uses")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--sim-link-scale", o->sim_link_scale,
                  "The simulated link moves this many times the profile's bandwidth")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_flag("!--no-refit", o->refit_cost,
                "Keep the profile fixed (default: refit its compute fit and link bandwidth online from measured steps)");
  cmd->add_option("--seed", o->seed, "Seed for every random choice")->capture_default_str();
  cmd->add_option("--out", o->out, "Directory for summary.csv, replans.csv (re-plans by cause), requests-<policy>.csv and steps-<policy>.csv");
  cmd->add_flag("!--no-progress", o->progress, "Do not draw a progress bar");
  return {cmd, [opts] { return RunSimulate(*opts); }};
}

namespace {

StatusOr<std::vector<std::string>> SelectPolicies(const std::string& list) {
  std::vector<std::string> out;
  if (list == "all") return AllPolicyNames();
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    out.push_back(item);
  }
  if (out.empty()) return InvalidArgument("--policies is empty");
  return out;
}

StatusOr<Workload> LoadWorkload(const SimulateOptions& o) {
  if (!o.trace.empty()) {
    TraceOptions topts;
    topts.rate_scale = o.rate_scale > 0 ? o.rate_scale : 1.0;
    topts.max_requests = o.max_requests;
    ArrivalProcessOptions arrivals{.kind = ArrivalProcessOptions::Kind::kGamma, .rate_per_s = o.request_rate,
                                   .cv = o.cv, .seed = o.seed};
    std::optional<TraceFormat> fmt;
    if (!o.trace_format.empty()) {
      OF_ASSIGN_OR_RETURN(TraceFormat f, ParseTraceFormat(o.trace_format));
      fmt = f;
    }
    return ReadTrace(o.trace, fmt, topts, arrivals);
  }
  NamedWorkloadOptions nopts;
  if (o.rate_scale > 0) nopts.rate_scale = o.rate_scale;
  OF_ASSIGN_OR_RETURN(Workload w, LoadNamedWorkload(o.workload.empty() ? "paper-32k" : o.workload, nopts));
  if (o.max_requests && static_cast<int64_t>(w.requests.size()) > *o.max_requests) w.requests.resize(*o.max_requests);
  return w;
}

int64_t DeviceBlocksFromMemory(const CostModel& cost) {
  // 90% of device memory, less the weights, as vLLM's gpu_memory_utilization does.
  const ModelSpec& m = cost.model();
  const double usable = 0.9 * static_cast<double>(cost.profile().device_memory_bytes) -
                        2.0 * static_cast<double>(m.ParamCount()) / m.tensor_parallel;
  const double per_layer = static_cast<double>(m.KvBytesPerLayerBlock().count()) * m.n_layers;
  return std::max<int64_t>(1, static_cast<int64_t>(usable / per_layer));
}

void PrintTable(const std::vector<SimulationResult>& results, const SimulateOptions& o, Seconds slo) {
  std::printf("\n%-20s %5s %5s %5s %8s %8s %8s %9s %7s %9s %6s %8s %6s %6s %7s\n", "policy", "reqs", "done",
              "fail", "TBT", "TBT+dep", "TPOT", "P95 TBT", "P95/S", "tok/s", "KVutil", "solver%", "pause",
              "preempt", "wall s");
  for (const SimulationResult& r : results) {
    const SloSummary& s = r.summary;
    std::printf("%-20s %5lld %5lld %5lld %7.1f%% %7.1f%% %7.1f%% %7.1fms %7.2f %9.1f %5.1f%% %8.3f %6lld %6lld %7.2f\n",
                r.policy.c_str(), static_cast<long long>(s.requests), static_cast<long long>(s.completed),
                static_cast<long long>(s.failed), 100 * s.tbt_attainment, 100 * s.tbt_attainment_deposit,
                100 * s.tpot_attainment, 1000 * s.p95_tbt_s, s.p95_tbt_ratio, s.throughput_tok_s,
                100 * s.device_kv_util, s.solver_overhead_pct, static_cast<long long>(r.counters.pauses),
                static_cast<long long>(r.counters.preemptions), r.wall_seconds);
  }
  std::printf("SLO per token: %.1f ms (scale %.2f)\n", 1000 * slo.count(), o.slo_scale);
}

// Re-plans by cause, and the engine events around them, one row per policy.
std::string ReplansCsv(const std::vector<SimulationResult>& results) {
  std::string out = "policy";
  for (size_t c = 0; c < static_cast<size_t>(ReplanCause::kCount); ++c) {
    out += fmt::format(",replans_{}", ReplanCauseName(static_cast<ReplanCause>(c)));
  }
  out += ",pauses,preemptions,resumes,apply_failures\n";
  for (const SimulationResult& r : results) {
    out += CsvEscape(r.policy);
    for (int64_t n : r.counters.replans) out += fmt::format(",{}", n);
    out += fmt::format(",{},{},{},{}\n", r.counters.pauses, r.counters.preemptions, r.counters.resumes,
                       r.counters.apply_failures);
  }
  return out;
}

}  // namespace

Status RunSimulate(const SimulateOptions& o) {
  OF_ASSIGN_OR_RETURN(ModelSpec model, LookupModelSpec(o.model));
  OF_ASSIGN_OR_RETURN(HardwareProfile hw, LookupHardware(o.gpu));
  CostProfile profile = BuiltinCostProfile(model, hw);
  if (!o.profile.empty()) {
    OF_ASSIGN_OR_RETURN(profile, LoadCostProfile(o.profile));
    if (profile.device_memory_bytes == 0) profile.device_memory_bytes = hw.device_memory_bytes;
  }
  const CostModel cost(model, profile);
  OF_ASSIGN_OR_RETURN(Workload workload, LoadWorkload(o));
  OF_ASSIGN_OR_RETURN(std::vector<std::string> policies, SelectPolicies(o.policies));
  if (workload.requests.empty()) return InvalidArgument("the workload has no requests");

  EngineOptions eopts;
  eopts.scheduler.max_batch = o.batch_size.value_or(workload.header.batch_size.value_or(32));
  eopts.scheduler.chunked_prefill = o.chunked_prefill;
  eopts.device_blocks_per_layer =
      o.device_kv_blocks.value_or(workload.header.device_blocks_per_layer.value_or(DeviceBlocksFromMemory(cost)));
  if (workload.header.max_model_len) eopts.max_context = *workload.header.max_model_len;
  eopts.default_slo = o.slo_scale * cost.BaseSlo(eopts.device_blocks_per_layer);
  double total = 0;
  for (const WorkloadRequest& w : workload.requests) total += static_cast<double>(w.input_tokens + w.output_tokens);
  eopts.avg_trace_tokens = total / static_cast<double>(workload.requests.size());
  eopts.planner_mode = o.planner_mode == "sync" ? PlannerMode::kSync : PlannerMode::kAhead;
  eopts.refit_cost = o.refit_cost;

  spdlog::info("simulate: {} requests ({}), model {}, GPU {} ({}), batch {}, {} device KV blocks per layer",
               workload.requests.size(), workload.name, model.name, profile.gpu, profile.source,
               eopts.scheduler.max_batch, eopts.device_blocks_per_layer);

  std::vector<SimulationResult> results;
  for (const std::string& name : policies) {
    PolicyOptions popts = o.policy;
    popts.seed = o.seed;
    OF_ASSIGN_OR_RETURN(std::unique_ptr<Planner> planner, MakePolicy(name, popts));
    SimulationOptions sopts{.engine = eopts,
                            .sim = {.seed = o.seed, .compute_noise_sigma = o.compute_noise,
                                    .compute_scale = o.sim_compute_scale, .link_scale = o.sim_link_scale},
                            .progress = o.progress, .label = name};
    OF_ASSIGN_OR_RETURN(SimulationResult r, RunSimulation(workload, cost, *planner, sopts));
    results.push_back(std::move(r));
  }
  PrintTable(results, o, eopts.default_slo);

  if (!o.out.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.out, ec);
    if (ec) return InvalidArgument(fmt::format("cannot create --out directory '{}': {}", o.out, ec.message()));
    std::vector<std::pair<std::string, SloSummary>> rows;
    for (const SimulationResult& r : results) {
      rows.emplace_back(r.policy, r.summary);
      OF_RETURN_IF_ERROR(WriteRequestsCsv((std::filesystem::path(o.out) / ("requests-" + r.policy + ".csv")).string(),
                                          r.records));
      OF_RETURN_IF_ERROR(
          WriteStepsCsv((std::filesystem::path(o.out) / ("steps-" + r.policy + ".csv")).string(), r.steps));
    }
    OF_RETURN_IF_ERROR(WriteSummaryCsv((std::filesystem::path(o.out) / "summary.csv").string(), rows));
    OF_RETURN_IF_ERROR(WriteFileAtomically((std::filesystem::path(o.out) / "replans.csv").string(), ReplansCsv(results)));
    std::printf("wrote %s/summary.csv, replans.csv, requests-<policy>.csv and steps-<policy>.csv\n", o.out.c_str());
  }
  return Status::Ok();
}

}  // namespace orbitflow
