#include "engine/simulation.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "common/progress_bar.h"

namespace orbitflow {

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
    OF_ASSIGN_OR_RETURN(bool ran, engine.Step());
    stuck = ran ? 0 : stuck + 1;
    if (stuck > 1000) {
      return Internal(fmt::format("simulation of '{}' made no progress for 1000 iterations at step {}",
                                  planner.name(), engine.counters().steps));
    }
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
