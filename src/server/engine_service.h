// EngineService: owns the Engine on ONE engine thread (DESIGN.md, Concurrency). HTTP threads
// only enqueue commands (submit, cancel, state snapshot) and read their request's TokenChannel;
// every Engine call happens on the engine thread, so the engine stays single-threaded.
//
// Admission is bounded: at most max_batch + max_queue requests are outstanding (accepted and not
// finished); beyond that TrySubmit answers ResourceExhausted, which the HTTP layer turns into
// 429 with Retry-After. Shutdown drains in-flight requests until a deadline, then cancels them.
// A step that fails is retried; after kStepRetries failures in a row the newest request is
// failed (one more per further failed step), so a state the executor rejects cannot hang every
// stream or spin the engine thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "engine/engine.h"
#include "metrics/engine_metrics.h"
#include "metrics/prometheus.h"
#include "model/sampler.h"
#include "server/sample_window.h"
#include "server/token_channel.h"

namespace orbitflow {

struct EngineServiceOptions {
  int max_batch = 16;
  int max_queue = 64;                               // waiting requests beyond the batch
  std::chrono::milliseconds idle_wait{20};          // engine thread's sleep with nothing to run
  // Called on the engine thread with each step's record (a step log); may be empty. The service
  // keeps no step records itself.
  std::function<void(std::span<const StepRecord>)> on_steps;
};

// What the service runs; every pointer must outlive the service.
struct EngineServiceDeps {
  EngineOptions engine;
  const CostModel* cost = nullptr;
  Planner* planner = nullptr;
  Executor* executor = nullptr;
  Clock* clock = nullptr;
  // Tells the executor how a request samples (the CPU executor's SetSampling); may be empty.
  std::function<Status(RequestId, const SamplerOptions&)> set_sampling;
};

class EngineService {
 public:
  static constexpr size_t kLatencyWindow = 1 << 16;
  // Consecutive failed steps before the service starts failing requests (newest first).
  static constexpr int64_t kStepRetries = 3;

  static StatusOr<std::unique_ptr<EngineService>> Create(EngineServiceDeps deps,
                                                         EngineServiceOptions options);
  ~EngineService();  // Shutdown(0) if still running

  // Queues `spec`; tokens arrive on the returned channel. ResourceExhausted when the queue is
  // full, Unavailable while shutting down.
  StatusOr<std::shared_ptr<TokenChannel>> TrySubmit(RequestSpec spec);
  // Asks the engine thread to cancel the request (its blocks return to the pools).
  void Cancel(const std::shared_ptr<TokenChannel>& channel);
  // A JSON view of the engine (placement per request and layer, tiers, deposits, paused),
  // built on the engine thread.
  nlohmann::json State();
  // Stops admitting, lets in-flight requests finish until `deadline` passes, cancels the rest,
  // joins the engine thread. Idempotent.
  void Shutdown(std::chrono::milliseconds deadline);

  int64_t outstanding() const { return outstanding_.load(); }
  bool draining() const { return draining_.load(); }
  PrometheusRegistry& registry() { return registry_; }
  const EngineServiceOptions& options() const { return options_; }

 private:
  struct SubmitCmd { RequestSpec spec; std::shared_ptr<TokenChannel> channel; };
  struct CancelCmd { std::shared_ptr<TokenChannel> channel; };
  // The state JSON plus copies of the latency windows; percentiles are computed by the caller,
  // off the engine thread.
  struct StateReply {
    nlohmann::json state;
    std::vector<double> step_s, token_gap_s;
    int64_t steps_seen = 0, gaps_seen = 0;
  };
  struct StateCmd { std::shared_ptr<std::promise<StateReply>> reply; };
  struct CancelAllCmd {};
  using Cmd = std::variant<SubmitCmd, CancelCmd, StateCmd, CancelAllCmd>;
  class Tap;

  EngineService(EngineServiceDeps deps, EngineServiceOptions options);
  void Post(Cmd cmd);
  void Loop();
  void Handle(Cmd& cmd);
  void OnToken(RequestId id, int32_t token);
  void OnStep(const StepResult& result);
  void OnStepFailed(const Status& status);
  void CloseFinished();
  void UpdateGauges();
  StateReply BuildState();

  EngineServiceDeps deps_;
  EngineServiceOptions options_;
  PrometheusRegistry registry_;
  EngineMetrics metrics_;
  std::unique_ptr<Tap> tap_;
  std::unique_ptr<Engine> engine_;

  std::mutex mu_;  // guards inbox_, stop_
  std::condition_variable cv_;
  std::deque<Cmd> inbox_;
  bool stop_ = false;
  std::atomic<int64_t> outstanding_{0};
  std::atomic<bool> draining_{false};
  std::atomic<bool> joined_{false};

  // Engine thread only.
  std::unordered_map<RequestId, std::shared_ptr<TokenChannel>> live_;
  std::unordered_map<RequestId, Seconds> last_token_at_;
  EngineCounters last_counters_;
  int64_t failed_steps_ = 0;  // consecutive
  // Recent step durations and engine-side token gaps (seconds): the engine's own view of
  // per-token time, which a client's inter-token latency is compared against to measure what
  // the HTTP layer adds (exact, unlike the histogram buckets of /metrics).
  SampleWindow step_times_{kLatencyWindow};
  SampleWindow token_gaps_{kLatencyWindow};
  std::thread thread_;
};

}  // namespace orbitflow
