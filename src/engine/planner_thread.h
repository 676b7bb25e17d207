// Runs the planner on its own thread, so the live engine solves the placement for step t+1 while
// step t executes (spec section 4, "runs one step ahead", done for real).
//
// The engine hands over a self-contained job (the candidates as they will be after the running
// step, and a snapshot of the cost model, which the engine may refit meanwhile) and polls for the
// answer at the start of the next steps; until it arrives the current plan stays in force.
//
// Thread safety: Start, TryTake, Wait and busy are called from one thread (the engine's); the
// planner is called only from the worker thread, one job at a time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "cost/cost_model.h"
#include "orbitflow/status.h"
#include "plan/planner.h"

namespace orbitflow {

struct PlannerJobResult {
  StatusOr<PlanDecision> decision = Status(StatusCode::kInternal, "not solved");
  Seconds solve_time{0};          // wall time of Planner::Plan on the worker
  ReplanCause cause = ReplanCause::kBatchChanged;
  int64_t step = 0;               // the step the job was started in
};

class PlannerThread {
 public:
  // `planner` must outlive this object and not be used by anyone else meanwhile.
  explicit PlannerThread(Planner* planner);
  ~PlannerThread();  // waits for a running solve, then joins
  PlannerThread(const PlannerThread&) = delete;
  PlannerThread& operator=(const PlannerThread&) = delete;

  // Starts solving `input` (copied, with `cost` as the cost model snapshot).
  // REQUIRES: !busy().
  void Start(const PlanInput& input, const CostModel& cost);
  // True from Start until the result has been taken.
  bool busy() const { return busy_; }
  // The result, if the worker has finished; clears busy().
  std::optional<PlannerJobResult> TryTake();
  // Blocks until the running job finishes and returns its result. REQUIRES: busy().
  PlannerJobResult Wait();

 private:
  void Loop();

  Planner* planner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;             // guarded by mu_
  bool has_job_ = false;          // guarded by mu_
  bool done_ = false;             // guarded by mu_
  std::vector<PlanCandidate> candidates_;  // the job's copy, owned by the worker while has_job_
  std::optional<CostModel> cost_;
  PlanInput input_;
  PlannerJobResult result_;       // guarded by mu_ once done_
  bool busy_ = false;             // engine thread only
  std::thread worker_;
};

}  // namespace orbitflow
