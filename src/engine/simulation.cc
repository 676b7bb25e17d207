#include "engine/simulation.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "common/progress_bar.h"

namespace orbitflow {

namespace {
// Long prefills take one step each, so a few thousand token-less steps in a row cannot happen
// in a healthy run.
constexpr int kMaxStepsWithoutTokens = 10000;
}  // namespace

StatusOr<SimulationResult> RunSimulation(const Workload& workload, const CostModel& cost,
                                         Planner& planner, const SimulationOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  VirtualClock clock;
  SimExecutor executor(cost, &clock, options.sim);
  Engine engine(options.engine, &cost, &planner, &executor, &clock, &clock);

  const auto& reqs = workload.requests;
  const bool in_steps = workload.unit == ArrivalUnit::kSteps;
  ProgressBar bar({.label = options.label, .total = static_cast<int64_t>(reqs.size()),
                   .mode = options.progress ? ProgressBarOptions::Mode::kAuto : ProgressBarOptions::Mode::kOff});
  SimulationResult out;
  out.policy = std::string(planner.name());
  size_t next = 0;
  int64_t idle_steps = 0;  // steps skipped while idle, for arrivals counted in steps
  int64_t finished = 0;
  int stuck = 0;
  auto arrived = [&](const WorkloadRequest& w) {
    return in_steps ? w.arrival <= static_cast<double>(engine.counters().steps + idle_steps)
                    : w.arrival <= clock.Now().count();
  };
  while (next < reqs.size() || engine.HasActive()) {
    while (next < reqs.size() && arrived(reqs[next])) {
      const WorkloadRequest& w = reqs[next++];
      RequestSpec spec{.prompt_tokens = w.input_tokens, .max_output_tokens = w.output_tokens, .slo = w.slo};
      // A request that can never run is recorded as failed by the engine; the run goes on.
      (void)engine.Submit(std::move(spec), clock.Now());
    }
    if (!engine.HasActive()) {
      if (next >= reqs.size()) break;
      // Idle: jump to the next arrival.
      if (in_steps) {
        idle_steps = std::max<int64_t>(idle_steps, static_cast<int64_t>(std::ceil(reqs[next].arrival)) -
                                                      engine.counters().steps);
      } else {
        clock.AdvanceTo(Seconds(reqs[next].arrival));
      }
      continue;
    }
    const int64_t tokens_before = engine.counters().generation_tokens;
    OF_ASSIGN_OR_RETURN(bool ran, engine.Step());
    // A step that runs but produces nothing (only moves or pauses) is progress only for a while:
    // a policy that keeps undoing its own plan must end in an error, not a hang.
    const bool produced = engine.counters().generation_tokens > tokens_before;
    stuck = produced ? 0 : stuck + 1;
    if (stuck > kMaxStepsWithoutTokens) {
      return Internal(fmt::format("simulation of '{}' produced no token for {} iterations at step {} "
                                  "(the policy keeps re-planning without progress)",
                                  planner.name(), kMaxStepsWithoutTokens, engine.counters().steps));
    }
    (void)ran;
    for (RequestRecord& r : engine.TakeFinished()) {
      out.records.push_back(std::move(r));
      ++finished;
    }
    bar.Update(finished);
  }
  for (RequestRecord& r : engine.TakeFinished()) out.records.push_back(std::move(r));
  bar.Finish();
  std::sort(out.records.begin(), out.records.end(),
            [](const RequestRecord& a, const RequestRecord& b) { return a.id < b.id; });
  out.steps = engine.steps();
  out.counters = engine.counters();
  out.simulated = clock.Now();
  out.summary = Score(out.records, out.steps, ScoreOptions{});
  out.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return out;
}

}  // namespace orbitflow
