#include "plan/ilp/planner_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "plan/ilp/exact_solver.h"
#include "plan/ilp/milp_solver.h"

namespace orbitflow {

CostModel PlannerBenchCostModel(int num_layers) {
  ModelSpec model = *LookupModelSpec("llama-3.1-8b");
  CostProfile profile = BuiltinCostProfile(model, *LookupHardware("a100"));
  const double scale = static_cast<double>(num_layers) / model.n_layers;
  profile.decode_step.a *= scale;
  profile.decode_step.b *= scale;
  profile.transfer_step.a *= scale;
  profile.transfer_step.b *= scale;
  model.n_layers = num_layers;
  model.name = fmt::format("llama-3.1-8b-shape-{}-layers", num_layers);
  model.synthetic = true;
  return CostModel(model, profile);
}

PlanInput PlannerScenario::Input() const {
  PlanInput in;
  in.requests = requests;
  in.device_blocks = device_blocks;
  in.device_blocks_per_layer = device_blocks_per_layer;
  in.cost = cost ? &*cost : nullptr;
  return in;
}

PlannerScenario RandomPlannerScenario(const ScenarioOptions& o, std::mt19937_64& rng) {
  PlannerScenario s;
  s.cost.emplace(PlannerBenchCostModel(o.layers));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const int n = std::uniform_int_distribution<int>(o.requests_min, std::max(o.requests_min, o.requests_max))(rng);
  int64_t tokens_sum = 0, blocks_sum = 0;
  for (int i = 0; i < n; ++i) {
    PlanCandidate c;
    c.id = RequestId(i + 1);
    const double draw = unit(rng);
    if (i > 0 && draw < 0.1) {
      c.context_tokens = s.requests[std::uniform_int_distribution<int>(0, i - 1)(rng)].context_tokens;
    } else if (draw < 0.55) {
      const double log_max = std::log(static_cast<double>(o.max_context_tokens));
      c.context_tokens = std::max<int64_t>(1, static_cast<int64_t>(std::exp(unit(rng) * log_max)));
    } else {
      c.context_tokens = std::uniform_int_distribution<int64_t>(1, o.max_context_tokens)(rng);
    }
    c.prompt_tokens = std::max<int64_t>(1, c.context_tokens * 3 / 4);
    c.generated_tokens = c.context_tokens - c.prompt_tokens;
    c.remaining_tokens = 256;
    c.deposit_tokens = unit(rng) < 0.5 ? 0.0 : std::uniform_int_distribution<int>(0, o.max_deposit_tokens)(rng);
    c.arrival = Seconds(i);
    tokens_sum += c.context_tokens;
    blocks_sum += c.blocks_per_layer();
    s.requests.push_back(c);
  }
  const double step = s.cost->DecodeStep(tokens_sum).count();
  // A batch shares an SLO class (serving deployments have one or a few): a base from 0.9x to
  // 2.5x the all-on-device step, and a third of the requests on a looser one, up to 2x the base.
  const double base = step * (0.9 + 1.6 * unit(rng));
  for (PlanCandidate& c : s.requests) c.slo = Seconds(base * (unit(rng) < 2.0 / 3 ? 1.0 : 1.0 + unit(rng)));
  // Capacity: a share of everything-on-device in [-0.02, 1.05], plus the default headroom.
  const int64_t all_device = blocks_sum * o.layers;
  const double share = -0.02 + 1.07 * unit(rng);
  const int64_t headroom = HeadroomBlocks(HeadroomOptions{}, all_device, n, o.layers);
  s.device_blocks = std::max<int64_t>(0, headroom + static_cast<int64_t>(share * static_cast<double>(all_device)));
  s.device_blocks_per_layer = s.device_blocks / o.layers;
  return s;
}

namespace {

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) - (q > 0 ? 1 : 0);
  return v[std::min(i, v.size() - 1)];
}

bool Feasible(SolveVerdict v) { return v == SolveVerdict::kOptimal || v == SolveVerdict::kFeasible; }

}  // namespace

StatusOr<PlannerBenchReport> RunPlannerBench(const PlannerBenchOptions& o) {
  if (o.requests < 1 || o.layers < 1 || o.instances < 1) {
    return InvalidArgument(fmt::format("planner bench needs requests, layers and instances >= 1 (got {}, {}, {})",
                                       o.requests, o.layers, o.instances));
  }
  PlannerBenchReport rep;
  rep.instances = o.instances;
  rep.requests = o.requests;
  rep.layers = o.layers;
  rep.verified = o.verify;
  std::mt19937_64 rng(o.seed);
  ScenarioOptions so;
  so.requests_min = so.requests_max = o.requests;
  so.layers = o.layers;
  // The planner's mode: with Pause-Resume on, an SLO-infeasible batch needs only the verdict.
  ExactSolver exact(ExactSolverOptions{.max_nodes = o.exact_max_nodes, .slo_infeasible = SloInfeasibleDetail::kVerdictOnly});
  // The full minimal-T solve, even past T_max: what CBC is compared with.
  ExactSolver full(ExactSolverOptions{.max_nodes = o.exact_max_nodes});
  MilpOptions mo;
  mo.time_limit = Seconds(o.milp_time_limit_s);
  mo.flow = o.milp_flow;
  MilpSolver milp(mo);
  IlpOptions ilp;
  IlpInstance instance;
  std::vector<double> times, full_times, milp_times;
  times.reserve(o.instances);
  double nodes_sum = 0;
  {
    // Warm-up, untimed: first-touch of the solver's buffers and of the libraries' lazy setup
    // (OpenBLAS, pulled in by CBC, starts its threads at load) should not count.
    std::mt19937_64 warm_rng(o.seed ^ 0x9e3779b97f4a7c15ULL);
    for (int i = 0; i < std::min(o.instances, 20); ++i) {
      const PlannerScenario sc = RandomPlannerScenario(so, warm_rng);
      OF_RETURN_IF_ERROR(BuildIlpInstance(sc.Input(), ilp, &instance));
      OF_RETURN_IF_ERROR(exact.Solve(instance).status());
      OF_RETURN_IF_ERROR(full.Solve(instance).status());
    }
  }
  for (int i = 0; i < o.instances; ++i) {
    const PlannerScenario sc = RandomPlannerScenario(so, rng);
    const PlanInput input = sc.Input();
    const auto t0 = std::chrono::steady_clock::now();
    OF_RETURN_IF_ERROR(BuildIlpInstance(input, ilp, &instance));
    OF_ASSIGN_OR_RETURN(IlpSolution planned, exact.Solve(instance));
    const auto t1 = std::chrono::steady_clock::now();
    OF_ASSIGN_OR_RETURN(IlpSolution s, full.Solve(instance));
    const auto t2 = std::chrono::steady_clock::now();
    times.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    full_times.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
    if (Feasible(planned.verdict) != Feasible(s.verdict)) {
      return Internal(fmt::format("instance {}: the verdict-only and the full exact solves disagree ({} vs {})", i,
                                  SolveVerdictName(planned.verdict), SolveVerdictName(s.verdict)));
    }
    nodes_sum += static_cast<double>(s.nodes);
    rep.max_nodes = std::max(rep.max_nodes, s.nodes);
    rep.tie_break_cut += s.tie_break_exact ? 0 : 1;
    rep.exact_unproven += s.proven_optimal ? 0 : 1;
    rep.optimal += s.verdict == SolveVerdict::kOptimal ? 1 : 0;
    rep.slo_infeasible += s.verdict == SolveVerdict::kSloInfeasible ? 1 : 0;
    rep.memory_infeasible += s.verdict == SolveVerdict::kMemoryInfeasible ? 1 : 0;
    if (o.on_instance) o.on_instance(i + 1);
    if (!o.verify) continue;
    const auto m0 = std::chrono::steady_clock::now();
    OF_ASSIGN_OR_RETURN(IlpSolution m, milp.Solve(instance));
    milp_times.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - m0).count());
    if (!m.proven_optimal) {
      ++rep.milp_unproven;
      continue;
    }
    if (!s.proven_optimal) continue;
    if (Feasible(s.verdict) != Feasible(m.verdict) ||
        (s.verdict == SolveVerdict::kMemoryInfeasible) != (m.verdict == SolveVerdict::kMemoryInfeasible)) {
      ++rep.verdict_mismatches;
    }
    if (s.has_assignment && m.has_assignment) {
      rep.max_gap = std::max(rep.max_gap, std::abs(s.step_s - m.step_s) / m.step_s);
    }
  }
  rep.p50_us = Percentile(times, 0.5);
  rep.p99_us = Percentile(times, 0.99);
  rep.max_us = Percentile(times, 1.0);
  double sum = 0;
  for (double t : times) sum += t;
  rep.mean_us = sum / static_cast<double>(times.size());
  rep.full_p50_us = Percentile(full_times, 0.5);
  rep.full_p99_us = Percentile(full_times, 0.99);
  rep.full_max_us = Percentile(full_times, 1.0);
  rep.mean_nodes = nodes_sum / o.instances;
  if (o.verify) {
    rep.milp_p50_us = Percentile(milp_times, 0.5);
    rep.milp_p99_us = Percentile(milp_times, 0.99);
    rep.milp_max_us = Percentile(milp_times, 1.0);
  }
  return rep;
}

std::string PlannerBenchReportJson(const PlannerBenchReport& r) {
  nlohmann::ordered_json j;
  j["instances"] = r.instances;
  j["requests"] = r.requests;
  j["layers"] = r.layers;
  j["p50_us"] = r.p50_us;
  j["p99_us"] = r.p99_us;
  j["max_us"] = r.max_us;
  j["mean_us"] = r.mean_us;
  j["full_p50_us"] = r.full_p50_us;
  j["full_p99_us"] = r.full_p99_us;
  j["full_max_us"] = r.full_max_us;
  j["mean_nodes"] = r.mean_nodes;
  j["max_nodes"] = r.max_nodes;
  j["tie_break_cut"] = r.tie_break_cut;
  j["exact_unproven"] = r.exact_unproven;
  j["optimal"] = r.optimal;
  j["slo_infeasible"] = r.slo_infeasible;
  j["memory_infeasible"] = r.memory_infeasible;
  j["verified"] = r.verified;
  j["max_gap"] = r.max_gap;
  if (r.verified) {
    j["milp_p50_us"] = r.milp_p50_us;
    j["milp_p99_us"] = r.milp_p99_us;
    j["milp_max_us"] = r.milp_max_us;
    j["milp_unproven"] = r.milp_unproven;
    j["verdict_mismatches"] = r.verdict_mismatches;
  }
  return j.dump();
}

}  // namespace orbitflow
