#include "plan/ilp/orbitflow_planner.h"

#include <algorithm>

#include <fmt/format.h>

#include "plan/uniform_distance.h"

namespace orbitflow {

const char* BackendName(Backend backend) {
  switch (backend) {
    case Backend::kExact: return "exact";
    case Backend::kMilp: return "milp";
  }
  return "unknown";
}

StatusOr<Backend> ParseBackend(std::string_view name) {
  if (name == "exact") return Backend::kExact;
  if (name == "milp") return Backend::kMilp;
  return InvalidArgument(fmt::format("unknown planner backend '{}'; use exact or milp", name));
}

const char* PauseStrategyName(PauseStrategy strategy) {
  switch (strategy) {
    case PauseStrategy::kLongest: return "longest";
    case PauseStrategy::kShortest: return "shortest";
    case PauseStrategy::kRandom: return "random";
    case PauseStrategy::kSloLoose: return "slo-loose";
    case PauseStrategy::kSloStrict: return "slo-strict";
  }
  return "unknown";
}

StatusOr<PauseStrategy> ParsePauseStrategy(std::string_view name) {
  std::string key(name);
  std::replace(key.begin(), key.end(), '_', '-');
  for (PauseStrategy s : {PauseStrategy::kLongest, PauseStrategy::kShortest, PauseStrategy::kRandom,
                          PauseStrategy::kSloLoose, PauseStrategy::kSloStrict}) {
    if (key == PauseStrategyName(s)) return s;
  }
  return InvalidArgument(fmt::format(
      "unknown pause strategy '{}'; use longest, shortest, random, slo-loose or slo-strict", name));
}

Status ValidateOrbitFlowOptions(const OrbitFlowOptions& options) {
  OF_RETURN_IF_ERROR(ValidateIlpOptions(options.ilp));
  if (options.fallback_steps < 1) {
    return InvalidArgument(fmt::format("fallback_steps must be >= 1, got {}", options.fallback_steps));
  }
  if (!(options.milp.time_limit.count() > 0)) {
    return InvalidArgument(fmt::format("MILP time limit must be positive, got {} s", options.milp.time_limit.count()));
  }
  return Status::Ok();
}

std::optional<size_t> ChoosePauseVictim(std::span<const PlanCandidate> requests, std::span<const uint8_t> kept,
                                        PauseStrategy strategy, std::mt19937_64* rng) {
  std::optional<size_t> victim;
  size_t kept_count = 0;
  for (size_t i = 0; i < requests.size(); ++i) kept_count += kept[i] ? 1 : 0;
  if (kept_count == 0) return victim;
  if (strategy == PauseStrategy::kRandom) {
    size_t pick = std::uniform_int_distribution<size_t>(0, kept_count - 1)(*rng);
    for (size_t i = 0; i < requests.size(); ++i) {
      if (kept[i] && pick-- == 0) return i;
    }
    return victim;
  }
  // `score` larger = paused first; >= lets a later position win ties.
  auto score = [&](const PlanCandidate& c) -> double {
    const auto tokens = static_cast<double>(c.prompt_tokens + c.generated_tokens);
    switch (strategy) {
      case PauseStrategy::kLongest: return tokens;
      case PauseStrategy::kShortest: return -tokens;
      case PauseStrategy::kSloLoose: return c.slo.count();
      case PauseStrategy::kSloStrict: return -c.slo.count();
      case PauseStrategy::kRandom: break;
    }
    return 0;
  };
  for (size_t i = 0; i < requests.size(); ++i) {
    if (!kept[i]) continue;
    if (!victim || score(requests[i]) >= score(requests[*victim])) victim = i;
  }
  return victim;
}

OrbitFlowPlanner::OrbitFlowPlanner(std::string name, OrbitFlowOptions options)
    : name_(std::move(name)),
      options_(std::move(options)),
      exact_(options_.exact),
      milp_(options_.milp),
      rng_(options_.seed) {}

StatusOr<IlpSolution> OrbitFlowPlanner::SolveMinStepTime(const IlpInstance& instance, SloInfeasibleDetail detail) {
  if (options_.backend == Backend::kMilp) {
    MilpOptions o = milp_.options();
    if (o.slo_infeasible != detail) {
      o.slo_infeasible = detail;
      milp_ = MilpSolver(o);
    }
    return milp_.SolveMinStepTime(instance);
  }
  if (exact_.options().slo_infeasible != detail) {
    ExactSolverOptions o = exact_.options();
    o.slo_infeasible = detail;
    exact_ = ExactSolver(o);
  }
  return exact_.SolveMinStepTime(instance);
}

StatusOr<IlpSolution> OrbitFlowPlanner::SolveGoodputObjective(const IlpInstance& instance) {
  return options_.backend == Backend::kMilp ? milp_.Solve(instance) : exact_.Solve(instance);
}

PlanDecision OrbitFlowPlanner::FromSolution(const PlanInput& input, const IlpInstance& instance,
                                            const IlpSolution& solution, std::span<const uint8_t> kept) const {
  PlanDecision d;
  // `instance` holds the kept requests in input order; the solution indexes them (or, for a
  // goodput solution over the whole batch, every request with its pause flag).
  const bool whole = solution.assignment.option.size() == input.requests.size() &&
                     static_cast<int>(input.requests.size()) == instance.num_requests();
  for (size_t i = 0, r = 0; i < input.requests.size(); ++i) {
    const bool is_kept = whole ? !solution.assignment.is_paused(static_cast<int>(i)) : kept[i] != 0;
    const size_t at = whole ? i : r;
    if (!whole && kept[i]) ++r;
    if (!is_kept) continue;
    d.ids.push_back(input.requests[i].id);
    d.distances.push_back(instance.distances[solution.assignment.option[at]]);
  }
  d.pause = paused_;
  if (whole) {
    for (size_t i = 0; i < input.requests.size(); ++i) {
      if (solution.assignment.is_paused(static_cast<int>(i))) d.pause.push_back(input.requests[i].id);
    }
  }
  d.window_steps = ChooseWindow(instance, solution.step_s);
  d.predicted_step = Seconds(solution.step_s);
  return d;
}

PlanDecision OrbitFlowPlanner::Heuristic(const PlanInput& input, std::span<const uint8_t> kept, int window) const {
  const int num_layers = input.cost->num_layers();
  int64_t needed = 0, tokens = 0, kept_blocks_sum = 0, paused_blocks = 0;
  for (size_t i = 0; i < input.requests.size(); ++i) {
    const PlanCandidate& c = input.requests[i];
    if (kept[i]) {
      needed += c.blocks_per_layer() + 2;  // actual context plus 2 look-ahead blocks
      kept_blocks_sum += c.blocks_per_layer();
      tokens += c.context_tokens;
    } else {
      paused_blocks += c.blocks_per_layer();  // a paused request keeps its first layer
    }
  }
  const int64_t budget = input.device_blocks - paused_blocks;
  Distance dist = CapacityUniformDistance(num_layers, budget, needed);
  // The heuristic never offloads more than every other layer; when even that does not fit,
  // everything goes to the host (which always fits) rather than failing to apply.
  if (static_cast<int64_t>(num_layers - dist.NumOffloaded(num_layers)) * kept_blocks_sum > budget) {
    dist = Distance::Every(0);
  }
  PlanDecision d;
  std::vector<RequestLoad> loads;
  for (size_t i = 0; i < input.requests.size(); ++i) {
    if (!kept[i]) continue;
    d.ids.push_back(input.requests[i].id);
    d.distances.push_back(dist);
    loads.push_back({dist, input.requests[i].blocks_per_layer()});
  }
  d.pause = paused_;
  d.window_steps = std::max(1, window);
  d.predicted_step = input.cost->StepTimePrefixFlow(loads, tokens);
  d.fallback = true;
  return d;
}

StatusOr<PlanDecision> OrbitFlowPlanner::Plan(const PlanInput& input) {
  if (input.cost == nullptr) return InvalidArgument("PlanInput.cost is null");
  paused_.clear();
  kept_.assign(input.requests.size(), 1);
  if (input.requests.empty()) {
    PlanDecision d;
    d.window_steps = options_.ilp.window_min;
    return d;
  }
  if (fallback_until_ && input.step < *fallback_until_) {
    return Heuristic(input, kept_, static_cast<int>(*fallback_until_ - input.step));
  }
  fallback_until_.reset();
  OF_RETURN_IF_ERROR(BuildIlpInstance(input, options_.ilp, &full_));
  if (options_.keep_feasible_plan && input.cause == ReplanCause::kWindowExpired) {
    if (std::optional<PlanDecision> keep = KeepCurrent(input)) return *std::move(keep);
  }
  if (options_.ilp.objective == Objective::kGoodput && options_.pause_enabled) {
    OF_ASSIGN_OR_RETURN(IlpSolution g, SolveGoodputObjective(full_));
    if (g.verdict == SolveVerdict::kOptimal || g.verdict == SolveVerdict::kFeasible) {
      return FromSolution(input, full_, g, kept_);
    }
    // No kept set works: Pause-Resume by strategy, then the fallback, as for min-T.
  }
  return PauseLoop(input);
}

std::optional<PlanDecision> OrbitFlowPlanner::KeepCurrent(const PlanInput& input) {
  IlpAssignment a;
  a.option.reserve(input.requests.size());
  for (const PlanCandidate& c : input.requests) {
    if (!c.current) return std::nullopt;
    const auto it = std::find(full_.distances.begin(), full_.distances.end(), *c.current);
    if (it == full_.distances.end()) return std::nullopt;
    a.option.push_back(static_cast<int>(it - full_.distances.begin()));
  }
  StatusOr<IlpEvaluation> e = Evaluate(full_, a);
  if (!e.ok() || !e->memory_ok || !e->slo_ok) return std::nullopt;
  PlanDecision d;
  for (size_t i = 0; i < input.requests.size(); ++i) {
    d.ids.push_back(input.requests[i].id);
    d.distances.push_back(*input.requests[i].current);
  }
  d.window_steps = ChooseWindow(full_, e->step_s);
  d.predicted_step = Seconds(e->step_s);
  return d;
}

StatusOr<PlanDecision> OrbitFlowPlanner::PauseLoop(const PlanInput& input) {
  const bool pause = options_.pause_enabled;
  const SloInfeasibleDetail detail =
      pause ? SloInfeasibleDetail::kVerdictOnly : SloInfeasibleDetail::kMinStepTimeAssignment;
  IlpInstance& inst = kept_instance_;
  while (true) {
    RestrictIlpInstance(full_, kept_, &inst);
    OF_ASSIGN_OR_RETURN(IlpSolution s, SolveMinStepTime(inst, detail));
    if (s.verdict == SolveVerdict::kOptimal || s.verdict == SolveVerdict::kFeasible) {
      return FromSolution(input, inst, s, kept_);
    }
    if (s.verdict == SolveVerdict::kUnknown) {
      // The backend ran out of time without an answer: no reason to pause anyone.
      return Heuristic(input, kept_, options_.ilp.window_min);
    }
    if (!pause && s.verdict == SolveVerdict::kSloInfeasible && s.has_assignment) {
      return FromSolution(input, inst, s, kept_);  // the SLO budget is broken; nothing pauses
    }
    const auto kept_count = std::count(kept_.begin(), kept_.end(), uint8_t{1});
    if (!pause || kept_count <= 1) break;
    const std::optional<size_t> victim = ChoosePauseVictim(input.requests, kept_, options_.pause_strategy, &rng_);
    if (!victim) break;
    kept_[*victim] = 0;
    paused_.push_back(input.requests[*victim].id);
  }
  // A single request left (or pausing off and memory infeasible): the dynamic heuristic for a
  // while (spec section 7).
  fallback_until_ = input.step + options_.fallback_steps;
  return Heuristic(input, kept_, options_.fallback_steps);
}

std::vector<std::string> OrbitFlowPolicyNames() {
  return {"orbitflow", "orbitflow-uniform", "orbitflow-no-deposit", "orbitflow-no-pause", "orbitflow-goodput"};
}

std::vector<std::string> OrbitFlowAblationChain() {
  return {"orbitflow-uniform-no-deposit-no-pause", "orbitflow-uniform-no-pause", "orbitflow-uniform", "orbitflow"};
}

StatusOr<std::unique_ptr<Planner>> MakeOrbitFlowPlanner(std::string_view policy_name,
                                                        const OrbitFlowOptions& options) {
  OrbitFlowOptions o = options;
  auto unknown = [&] {
    return NotFound(fmt::format("unknown OrbitFlow policy '{}'; known: {} (the suffixes combine, e.g. {})",
                                policy_name, fmt::join(OrbitFlowPolicyNames(), ", "), OrbitFlowAblationChain()[0]));
  };
  std::string_view rest = policy_name;
  if (!rest.starts_with("orbitflow")) return unknown();
  rest.remove_prefix(std::string_view("orbitflow").size());
  // Each ablation switch once, in any order.
  struct Switch {
    std::string_view suffix;
    bool seen;
  };
  Switch switches[] = {{"-uniform", false}, {"-no-deposit", false}, {"-no-pause", false}, {"-goodput", false}};
  while (!rest.empty()) {
    Switch* hit = nullptr;
    for (Switch& s : switches) {
      if (!s.seen && rest.starts_with(s.suffix)) hit = &s;
    }
    if (hit == nullptr) return unknown();
    hit->seen = true;
    rest.remove_prefix(hit->suffix.size());
    if (hit->suffix == "-uniform") o.ilp.uniform = true;
    if (hit->suffix == "-no-deposit") o.ilp.use_deposit = false;
    if (hit->suffix == "-no-pause") o.pause_enabled = false;
    if (hit->suffix == "-goodput") o.ilp.objective = Objective::kGoodput;
  }
  OF_RETURN_IF_ERROR(ValidateOrbitFlowOptions(o));
  return std::unique_ptr<Planner>(std::make_unique<OrbitFlowPlanner>(std::string(policy_name), std::move(o)));
}

}  // namespace orbitflow
