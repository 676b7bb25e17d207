#include "cli/bench_planner_command.h"

#include <cstdio>
#include <memory>

#include "common/progress_bar.h"
#include "plan/ilp/planner_bench.h"

namespace orbitflow {
namespace {

struct BenchPlannerFlags {
  PlannerBenchOptions bench;
  bool json = false;
  bool progress = true;
};

Status RunBenchPlanner(const BenchPlannerFlags& f) {
  PlannerBenchOptions o = f.bench;
  // With --verify, CBC takes milliseconds to seconds per instance: show where the run is.
  ProgressBar bar({.label = o.verify ? "exact + milp" : "exact", .total = o.instances,
                   .mode = f.progress ? ProgressBarOptions::Mode::kAuto : ProgressBarOptions::Mode::kOff});
  o.on_instance = [&bar](int done) { bar.Update(done); };
  OF_ASSIGN_OR_RETURN(PlannerBenchReport r, RunPlannerBench(o));
  bar.Finish();
  std::printf("planner bench: %d instances, %d requests x %d layers (seed %llu)\n", r.instances,
              r.requests, r.layers, static_cast<unsigned long long>(o.seed));
  std::printf("  verdicts          optimal %d, SLO-infeasible %d, memory-infeasible %d\n", r.optimal,
              r.slo_infeasible, r.memory_infeasible);
  std::printf("  exact  (us)       p50 %.1f  p99 %.1f  max %.1f  mean %.1f  (as the planner runs it: verdict "
              "only when SLO-infeasible)\n",
              r.p50_us, r.p99_us, r.max_us, r.mean_us);
  std::printf("  exact full (us)   p50 %.1f  p99 %.1f  max %.1f  (minimal T even past the SLO; nodes mean %.0f, "
              "max %lld, unproven %d)\n",
              r.full_p50_us, r.full_p99_us, r.full_max_us, r.mean_nodes, static_cast<long long>(r.max_nodes),
              r.exact_unproven);
  if (r.verified) {
    std::printf("  milp   (us)       p50 %.1f  p99 %.1f  max %.1f  (unproven at the time limit %d)\n",
                r.milp_p50_us, r.milp_p99_us, r.milp_max_us, r.milp_unproven);
    std::printf("  max objective gap %.3g (relative, instances both proved optimal); verdict "
                "mismatches %d\n", r.max_gap, r.verdict_mismatches);
  }
  if (f.json) std::printf("%s\n", PlannerBenchReportJson(r).c_str());
  if (r.verified && (r.max_gap > 1e-9 || r.verdict_mismatches > 0)) {
    return Internal("the exact and MILP backends disagree (see the gap and mismatches above)");
  }
  return Status::Ok();
}

}  // namespace

Command AddBenchPlannerCommand(CLI::App& bench) {
  auto f = std::make_shared<BenchPlannerFlags>();
  CLI::App* cmd = bench.add_subcommand(
      "planner", "Solve random placement problems with the exact backend (and CBC with --verify); "
                 "print p50/p99/max solve time in microseconds");
  cmd->add_option("--requests", f->bench.requests, "Decode requests per instance")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--layers", f->bench.layers, "Model layers")->capture_default_str()->check(CLI::Range(1, 1024));
  cmd->add_option("--instances", f->bench.instances, "Random instances to solve")
      ->capture_default_str()->check(CLI::Range(1, 10'000'000));
  cmd->add_option("--seed", f->bench.seed, "Seed of the instance generator")->capture_default_str();
  cmd->add_flag("--verify", f->bench.verify,
                "Also solve each instance with the MILP backend (CBC) and report the largest objective "
                "gap; exits non-zero if the backends disagree");
  cmd->add_option("--milp-time-limit", f->bench.milp_time_limit_s, "CBC's time limit per instance, seconds")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--exact-max-nodes", f->bench.exact_max_nodes,
                  "Node budget of the exact backend (instances reaching it count as unproven)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_flag("--json", f->json, "End with one JSON line: p50_us, p99_us, max_us, max_gap, instances, ...");
  cmd->add_flag("!--no-progress", f->progress, "Do not draw a progress bar");
  return {cmd, [f] { return RunBenchPlanner(*f); }};
}

}  // namespace orbitflow
