#include "server/engine_service.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "metrics/percentile.h"

namespace orbitflow {
namespace {

// {"samples", "seen", "mean", "p50", "p90", "p99", "max"} in milliseconds over the window.
nlohmann::json LatencySummaryJson(std::vector<double> seconds, int64_t seen) {
  nlohmann::json j{{"samples", seconds.size()}, {"seen", seen}};
  if (seconds.empty()) return j;
  for (double& v : seconds) v *= 1e3;
  j["mean"] = Mean(seconds);
  static constexpr std::array<double, 4> kPs = {50, 90, 99, 100};
  const std::vector<double> q = Percentiles(std::move(seconds), kPs);
  j["p50"] = q[0];
  j["p90"] = q[1];
  j["p99"] = q[2];
  j["max"] = q[3];
  return j;
}

}  // namespace

// Forwards to the real executor and reports tokens and step results to the service, on the
// engine thread (Execute runs inside Engine::Step).
class EngineService::Tap final : public Executor {
 public:
  Tap(Executor* inner, EngineService* service) : inner_(inner), service_(service) {}
  std::string_view name() const override { return inner_->name(); }
  StatusOr<StepResult> Execute(const StepPlan& plan, const KvCacheManager& kv) override {
    StatusOr<StepResult> r = inner_->Execute(plan, kv);
    if (r.ok()) {
      service_->OnStep(*r);
      for (const TokenOutput& t : r->tokens) service_->OnToken(t.id, t.token);
    }
    return r;
  }
  void Release(RequestId id) override { inner_->Release(id); }

 private:
  Executor* inner_;
  EngineService* service_;
};

EngineService::EngineService(EngineServiceDeps deps, EngineServiceOptions options)
    : deps_(std::move(deps)), options_(options) {}

StatusOr<std::unique_ptr<EngineService>> EngineService::Create(EngineServiceDeps deps,
                                                               EngineServiceOptions options) {
  if (!deps.cost || !deps.planner || !deps.executor || !deps.clock) {
    return InvalidArgument("EngineService needs a cost model, planner, executor and clock");
  }
  if (options.max_batch < 1 || options.max_queue < 0) {
    return InvalidArgument(fmt::format("max_batch must be >= 1 and max_queue >= 0 (got {}, {})",
                                       options.max_batch, options.max_queue));
  }
  std::unique_ptr<EngineService> s(new EngineService(std::move(deps), options));
  OF_ASSIGN_OR_RETURN(s->metrics_, EngineMetrics::Register(s->registry_));
  s->tap_ = std::make_unique<Tap>(s->deps_.executor, s.get());
  s->engine_ = std::make_unique<Engine>(s->deps_.engine, s->deps_.cost, s->deps_.planner,
                                        s->tap_.get(), s->deps_.clock);
  s->thread_ = std::thread([p = s.get()] { p->Loop(); });
  return s;
}

EngineService::~EngineService() { Shutdown(std::chrono::milliseconds(0)); }

StatusOr<std::shared_ptr<TokenChannel>> EngineService::TrySubmit(RequestSpec spec) {
  if (draining_.load()) return Unavailable("the server is shutting down");
  const int64_t limit = int64_t{options_.max_batch} + options_.max_queue;
  int64_t cur = outstanding_.load();
  do {
    if (cur >= limit) {
      return ResourceExhausted(fmt::format("the admission queue is full ({} requests outstanding)", cur));
    }
  } while (!outstanding_.compare_exchange_weak(cur, cur + 1));
  auto channel = std::make_shared<TokenChannel>(spec.max_output_tokens);
  Post(SubmitCmd{std::move(spec), channel});
  return channel;
}

void EngineService::Cancel(const std::shared_ptr<TokenChannel>& channel) { Post(CancelCmd{channel}); }

nlohmann::json EngineService::State() {
  auto reply = std::make_shared<std::promise<StateReply>>();
  std::future<StateReply> f = reply->get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return nlohmann::json{{"error", "engine stopped"}};
    inbox_.push_back(StateCmd{reply});
  }
  cv_.notify_one();
  StateReply r = f.get();
  r.state["latency"] = {{"step_time_ms", LatencySummaryJson(std::move(r.step_s), r.steps_seen)},
                        {"inter_token_latency_ms", LatencySummaryJson(std::move(r.token_gap_s), r.gaps_seen)}};
  return std::move(r.state);
}

void EngineService::Shutdown(std::chrono::milliseconds deadline) {
  draining_.store(true);
  if (joined_.exchange(true)) return;
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (outstanding_.load() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Post(CancelAllCmd{});
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void EngineService::Post(Cmd cmd) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    inbox_.push_back(std::move(cmd));
  }
  cv_.notify_one();
}

void EngineService::Loop() {
  std::deque<Cmd> batch;
  while (true) {
    bool stop = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (inbox_.empty() && !engine_->HasActive() && !stop_) cv_.wait_for(lock, options_.idle_wait);
      batch.swap(inbox_);
      stop = stop_;
    }
    for (Cmd& c : batch) Handle(c);
    batch.clear();
    if (stop) {
      Cmd cancel_all = CancelAllCmd{};
      Handle(cancel_all);
      break;
    }
    if (engine_->HasActive()) {
      StatusOr<bool> stepped = engine_->Step();
      if (stepped.ok()) {
        failed_steps_ = 0;
      } else {
        OnStepFailed(stepped.status());
      }
    }
    CloseFinished();
    UpdateGauges();
  }
}

void EngineService::Handle(Cmd& cmd) {
  if (auto* s = std::get_if<SubmitCmd>(&cmd)) {
    SamplerOptions sampling = s->spec.sampling;
    StatusOr<RequestId> id = engine_->Submit(std::move(s->spec), deps_.clock->Now());
    if (id.ok()) {
      s->channel->id = *id;
      live_[*id] = s->channel;
      if (deps_.set_sampling) {
        if (Status st = deps_.set_sampling(*id, sampling); !st.ok()) {
          (void)engine_->Cancel(*id);
        }
      }
    } else {
      // Submit already finished it as failed; drop its record with the others.
      s->channel->Close(FinishReason::kFailed, id.status().message());
      outstanding_.fetch_sub(1);
    }
  } else if (auto* c = std::get_if<CancelCmd>(&cmd)) {
    if (c->channel->id && live_.count(*c->channel->id)) (void)engine_->Cancel(*c->channel->id);
  } else if (auto* q = std::get_if<StateCmd>(&cmd)) {
    q->reply->set_value(BuildState());
  } else {
    std::vector<RequestId> ids;
    for (auto& [id, ch] : live_) ids.push_back(id);
    for (RequestId id : ids) (void)engine_->Cancel(id);
  }
  CloseFinished();
}

void EngineService::OnStepFailed(const Status& status) {
  ++failed_steps_;
  // One line for the first failure of a streak and then one per 1000, so a step that keeps
  // failing cannot fill the disk.
  if (failed_steps_ == 1 || failed_steps_ % 1000 == 0) {
    spdlog::error("engine step failed ({} in a row): {}", failed_steps_, status.ToString());
  }
  if (failed_steps_ < kStepRetries || live_.empty()) return;
  // Retrying the same state gives the same failure: fail the newest request (one per further
  // failed step) so the rest can run, instead of every stream hanging.
  auto newest = std::max_element(live_.begin(), live_.end(),
                                 [](const auto& a, const auto& b) { return a.first < b.first; });
  newest->second->Close(FinishReason::kFailed, "the engine could not run a step with this request: " +
                                                   status.message());
  (void)engine_->Cancel(newest->first);
}

void EngineService::OnToken(RequestId id, int32_t token) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  it->second->Push(token);
  const Seconds now = deps_.clock->Now();
  auto [last, first] = last_token_at_.try_emplace(id, now);
  if (!first) {
    const Seconds gap = now - last->second;
    metrics_.inter_token_latency_seconds->Observe(gap.count());
    token_gaps_.Add(gap.count());
    if (Request* r = engine_->scheduler().Find(id); r && IsLateGap(gap, r->slo)) {
      metrics_.slo_violations_tbt->Increment();
    }
    last->second = now;
  }
}

void EngineService::OnStep(const StepResult& result) {
  metrics_.step_stall_seconds->Observe(result.stall.count());
  step_times_.Add(result.step_time.count());
}

void EngineService::CloseFinished() {
  for (RequestRecord& rec : engine_->TakeFinished()) {
    (void)metrics_.ObserveFinished(rec);
    auto it = live_.find(rec.id);
    if (it == live_.end()) continue;
    it->second->Close(rec.reason, rec.failure_message);
    live_.erase(it);
    last_token_at_.erase(rec.id);
    outstanding_.fetch_sub(1);
  }
}

void EngineService::UpdateGauges() {
  Scheduler& s = engine_->scheduler();
  metrics_.num_requests_running->Set(static_cast<double>(s.num_in_batch()));
  metrics_.num_requests_waiting->Set(static_cast<double>(s.Waiting().size()));
  metrics_.num_requests_paused->Set(static_cast<double>(s.Paused().size()));
  const KvCacheManager& kv = engine_->kv();
  auto frac = [](const BlockPool& p) {
    return p.capacity() > 0 ? static_cast<double>(p.used()) / static_cast<double>(p.capacity()) : 0.0;
  };
  metrics_.kv_cache_usage_device->Set(frac(kv.device_pool()));
  metrics_.kv_cache_usage_host->Set(frac(kv.host_pool()));
  const EngineCounters& c = engine_->counters();
  EngineCounters& l = last_counters_;
  metrics_.prompt_tokens_total->Increment(static_cast<double>(c.prompt_tokens - l.prompt_tokens));
  metrics_.generation_tokens_total->Increment(static_cast<double>(c.generation_tokens - l.generation_tokens));
  metrics_.num_preemptions_total->Increment(static_cast<double>(c.preemptions - l.preemptions));
  metrics_.num_pauses_total->Increment(static_cast<double>(c.pauses - l.pauses));
  int64_t replans = 0, last_replans = 0;
  for (size_t i = 0; i < c.replans.size(); ++i) {
    replans += c.replans[i];
    last_replans += l.replans[i];
  }
  metrics_.num_replans_total->Increment(static_cast<double>(replans - last_replans));
  metrics_.transfer_bytes_host_to_device->Increment(static_cast<double>((c.h2d - l.h2d).count()));
  metrics_.transfer_bytes_device_to_host->Increment(static_cast<double>((c.d2h - l.d2h).count()));
  const std::vector<StepRecord> steps = engine_->TakeSteps();
  for (const StepRecord& s : steps) {
    if (s.solved) metrics_.solver_seconds->Observe(s.solver_time.count());
  }
  if (options_.on_steps && !steps.empty()) options_.on_steps(steps);
  l = c;
}

EngineService::StateReply EngineService::BuildState() {
  const KvCacheManager& kv = engine_->kv();
  nlohmann::json requests = nlohmann::json::array();
  for (auto& [id, r] : engine_->scheduler().table()) {
    nlohmann::json j{{"id", id.value()},
                     {"state", RequestStateName(r->state)},
                     {"prompt_tokens", r->spec.prompt_tokens},
                     {"generated_tokens", r->generated},
                     {"tbt_slo_ms", 1000 * r->slo.count()},
                     {"deposit_tokens", r->deposit.deposit()}};
    if (kv.Has(id)) {
      const LayerMask& m = kv.Get(id).mask;
      std::string layers;
      for (int l = 0; l < m.num_layers(); ++l) layers += m.on_device(l) ? 'D' : 'H';
      j["placement"] = layers;  // one letter per layer: D device, H host
      j["device_blocks"] = kv.DeviceBlocksHeld(id);
    }
    requests.push_back(std::move(j));
  }
  const EngineCounters& c = engine_->counters();
  StateReply out;
  out.step_s = step_times_.values();
  out.token_gap_s = token_gaps_.values();
  out.steps_seen = step_times_.total();
  out.gaps_seen = token_gaps_.total();
  out.state = nlohmann::json{
      {"policy", deps_.planner->name()},
      {"tiers", {{"device", {{"used_blocks", kv.device_pool().used()}, {"capacity_blocks", kv.device_pool().capacity()}}},
                 {"host", {{"used_blocks", kv.host_pool().used()}, {"capacity_blocks", kv.host_pool().capacity()}}}}},
      {"paused", engine_->scheduler().Paused().size()},
      {"waiting", engine_->scheduler().Waiting().size()},
      {"counters", {{"steps", c.steps}, {"pauses", c.pauses}, {"preemptions", c.preemptions},
                    {"prompt_tokens", c.prompt_tokens}, {"generation_tokens", c.generation_tokens},
                    {"h2d_bytes", c.h2d.count()}, {"d2h_bytes", c.d2h.count()},
                    {"cost_refits", c.cost_refits}}},
      {"slo_calibration", engine_->slo_calibration()},
      {"requests", std::move(requests)}};
  return out;
}

}  // namespace orbitflow
