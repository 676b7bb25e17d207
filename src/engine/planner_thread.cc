#include "engine/planner_thread.h"

#include <chrono>

namespace orbitflow {

PlannerThread::PlannerThread(Planner* planner) : planner_(planner), worker_([this] { Loop(); }) {}

PlannerThread::~PlannerThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void PlannerThread::Start(const PlanInput& input, const CostModel& cost) {
  std::lock_guard<std::mutex> lock(mu_);
  candidates_.assign(input.requests.begin(), input.requests.end());
  cost_.emplace(cost);
  input_ = input;
  input_.requests = candidates_;
  input_.cost = &*cost_;
  has_job_ = true;
  done_ = false;
  busy_ = true;
  cv_.notify_all();
}

std::optional<PlannerJobResult> PlannerThread::TryTake() {
  if (!busy_) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  if (!done_) return std::nullopt;
  busy_ = false;
  done_ = false;
  return std::move(result_);
}

PlannerJobResult PlannerThread::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return done_; });
  busy_ = false;
  done_ = false;
  return std::move(result_);
}

void PlannerThread::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || has_job_; });
    if (stop_) return;
    // The job's data is the worker's until it reports done; the engine does not touch it.
    const PlanInput input = input_;
    lock.unlock();
    const auto t0 = std::chrono::steady_clock::now();
    StatusOr<PlanDecision> decision = planner_->Plan(input);
    const Seconds took = std::chrono::duration_cast<Seconds>(std::chrono::steady_clock::now() - t0);
    lock.lock();
    result_ = PlannerJobResult{.decision = std::move(decision), .solve_time = took,
                               .cause = input.cause, .step = input.step};
    has_job_ = false;
    done_ = true;
    cv_.notify_all();
  }
}

}  // namespace orbitflow
