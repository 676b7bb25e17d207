#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

namespace orbitflow {

Engine::Engine(EngineOptions options, const CostModel* cost, Planner* planner, Executor* executor,
               Clock* clock, VirtualClock* virtual_clock)
    : options_(std::move(options)),
      cost_(cost),
      planner_(planner),
      executor_(executor),
      clock_(clock),
      virtual_clock_(virtual_clock),
      num_layers_(cost->num_layers()),
      kv_({.num_layers = num_layers_,
           .device_blocks = options_.device_blocks_per_layer * num_layers_,
           .host_blocks = options_.host_blocks}),
      sched_(options_.scheduler),
      trigger_(options_.triggers) {
  if (options_.max_context <= 0) options_.max_context = cost->model().max_seq_len;
  if (options_.plan_on_thread) planner_thread_ = std::make_unique<PlannerThread>(planner_);
  if (options_.refit_cost) fit_.emplace(cost->profile(), options_.refit);
  if (options_.calibrate_slo) calibration_.emplace(options_.calibration);
}

void Engine::LearnCost(const StepPlan& plan, const StepResult& result) {
  if (!fit_ || plan.decodes.empty()) return;
  // A step with a prefill or plan-change moves mixes other work into its compute and link time.
  // The per-step work outside the layers delays every token too: a fit of layer compute alone
  // under-predicted live CPU steps by 20-30%, which a plan filled up to the SLO turned into misses.
  if (plan.prefills.empty()) fit_->AddCompute(plan.batch_tokens, result.compute + result.overhead);
  fit_->AddLink(result.h2d, result.link_busy);
  if (++steps_since_refit_ < std::max(1, options_.refit_every)) return;
  steps_since_refit_ = 0;
  fit_->Refit();
  // Against the model in use, so small refits that add up still get adopted.
  const double change = ProfileChange(cost_->profile(), fit_->profile());
  if (change <= options_.refit_tolerance) return;
  // Step ratios measured against a model this far off (a GPU profile still converging to a CPU)
  // would keep the SLO tight long after the model is right.
  if (calibration_ && change > kCalibrationResetChange) {
    calibration_->Reset();
    slo_factor_ = 1.0;
  }
  refit_model_.emplace(cost_->model(), fit_->profile());
  cost_ = &*refit_model_;
  ++counters_.cost_refits;
  trigger_.OnCostModelChanged();
}

void Engine::Calibrate(const StepPlan& plan, Seconds measured) {
  // A prefill chunk is not in the decode prediction.
  if (!calibration_ || plan.decodes.empty() || !plan.prefills.empty()) return;
  calibration_->Add(predicted_step_, measured);
  if (++steps_since_calibration_ < std::max(1, options_.refit_every)) return;
  steps_since_calibration_ = 0;
  const double f = calibration_->Factor();
  if (std::abs(f - slo_factor_) <= options_.refit_tolerance * slo_factor_) return;
  slo_factor_ = f;
  trigger_.OnCostModelChanged();
}

StatusOr<RequestId> Engine::Submit(RequestSpec spec, Seconds arrival) {
  const Seconds slo = spec.slo.value_or(options_.default_slo);
  Request* r = sched_.Add(std::move(spec), slo, arrival);
  const int64_t total = r->total_tokens();
  std::string why;
  if (r->spec.prompt_tokens < 1) {
    why = "the prompt is empty";
  } else if (r->spec.max_output_tokens < 1) {
    why = fmt::format("max output tokens must be at least 1, got {}", r->spec.max_output_tokens);
  } else if (total > options_.max_context) {
    why = fmt::format("prompt ({}) + output ({}) = {} tokens exceeds the maximum context of {}",
                      r->spec.prompt_tokens, r->spec.max_output_tokens, total, options_.max_context);
  } else if (planner_->MinDeviceBlocks(total, num_layers_) > kv_.device_pool().capacity()) {
    why = fmt::format("a context of {} tokens needs at least {} device blocks under policy '{}', "
                      "the device pool has {}", total, planner_->MinDeviceBlocks(total, num_layers_),
                      planner_->name(), kv_.device_pool().capacity());
  }
  if (!why.empty()) {
    FailRequest(r, why);
    return Status(StatusCode::kInvalidArgument, std::move(why));
  }
  return r->id;
}

Status Engine::Cancel(RequestId id) {
  Request* r = sched_.Find(id);
  if (!r) return NotFound(fmt::format("request {} is not active", id.value()));
  kv_.Release(id);
  executor_->Release(id);
  trigger_.OnBatchChanged();
  sched_.Finish(r, FinishReason::kCancelled, clock_->Now());
  return Status::Ok();
}

void Engine::FailRequest(Request* r, std::string why) {
  kv_.Release(r->id);
  executor_->Release(r->id);
  trigger_.OnBatchChanged();
  sched_.Finish(r, FinishReason::kFailed, clock_->Now(), std::move(why));
}

void Engine::FinishRequest(Request* r, FinishReason reason) {
  kv_.Release(r->id);
  executor_->Release(r->id);
  trigger_.OnBatchChanged();
  sched_.Finish(r, reason, clock_->Now());
}

bool Engine::AdmissionFits(const Request& r) const {
  // The policy's smallest footprint for the prompt, plus one block per layer to write into.
  const int64_t need = planner_->MinDeviceBlocks(r.spec.prompt_tokens, num_layers_);
  return need <= kv_.device_pool().free();
}

Status Engine::SetMask(Request* r, const LayerMask& mask, std::vector<KvMove>* moves) {
  if (mask == kv_.Get(r->id).mask) return Status::Ok();
  OF_ASSIGN_OR_RETURN(PlacementDiff diff, kv_.ApplyMask(r->id, mask));
  if (!diff.bring_back.empty() || !diff.drop.empty()) moves->push_back({r->id, std::move(diff)});
  return Status::Ok();
}

void Engine::PauseRequest(Request* r, bool for_memory, std::vector<KvMove>* moves) {
  // Dropping layers only frees blocks, so this cannot fail.
  (void)SetMask(r, LayerMask::Paused(num_layers_), moves);
  r->state = RequestState::kPaused;
  r->paused_for_memory = for_memory;
  r->record.pauses.push_back({clock_->Now(), Seconds(-1)});
  ++(for_memory ? counters_.preemptions : counters_.pauses);
  // A pause the plan chose is already in that plan. Counting it as a batch change would let the
  // paused request rejoin at once and, with a little more deposit on the others, resume, only to
  // be paused again a step later: a pause-resume loop that moves its KV every step.
  if (for_memory) trigger_.OnBatchChanged();
}

void Engine::ResumeRequest(Request* r) {
  r->state = r->prefill_done() ? RequestState::kDecoding : RequestState::kPrefilling;
  r->paused_for_memory = false;
  if (!r->record.pauses.empty()) r->record.pauses.back().end = clock_->Now();
  ++counters_.resumes;  // only a plan resumes, so that plan already holds the request
}

bool Engine::BuildPlanInput(ReplanCause cause, PlanInput* input) {
  // Candidates: everyone in the batch, as they will be after this step; paused requests rejoin
  // on a batch change or when nothing else runs (spec section 7).
  int64_t outside_blocks = 0;
  const bool resume_ok = cause == ReplanCause::kBatchChanged || sched_.num_in_batch() == 0;
  candidates_.clear();
  for (auto& [id, r] : sched_.admitted()) {
    const bool in_batch = r->state == RequestState::kDecoding || r->state == RequestState::kPrefilling;
    if (!in_batch && !(r->state == RequestState::kPaused && resume_ok)) {
      if (kv_.Has(id)) outside_blocks += kv_.DeviceBlocksHeld(id);
      continue;
    }
    const int64_t ctx = r->prefill_done() ? r->context_tokens() + 1 : r->spec.prompt_tokens;
    candidates_.push_back({.id = r->id, .context_tokens = ctx, .prompt_tokens = r->spec.prompt_tokens,
                           .generated_tokens = r->generated, .remaining_tokens = r->remaining_output(),
                           .slo = r->slo / slo_factor_, .deposit_tokens = static_cast<double>(r->deposit.deposit()),
                           .arrival = r->record.arrival, .was_paused = r->state == RequestState::kPaused});
    if (r->placed && r->state == RequestState::kDecoding) candidates_.back().current = r->distance;
  }
  if (candidates_.empty()) return false;
  *input = PlanInput{.step = counters_.steps, .requests = candidates_,
                     .device_blocks = kv_.device_pool().capacity() - outside_blocks,
                     .device_blocks_per_layer = options_.device_blocks_per_layer,
                     .avg_trace_tokens = options_.avg_trace_tokens, .cause = cause, .cost = cost_};
  return true;
}

Status Engine::RunPlanner(ReplanCause cause, std::vector<KvMove>* moves, std::vector<RequestId>* paused) {
  PlanInput input;
  if (!BuildPlanInput(cause, &input)) return Status::Ok();
  trigger_.OnSolveStarted();
  const auto t0 = std::chrono::steady_clock::now();
  StatusOr<PlanDecision> decision = planner_->Plan(input);
  const Seconds took = std::chrono::duration_cast<Seconds>(std::chrono::steady_clock::now() - t0);
  return AdoptDecision(std::move(decision), took, cause, moves, paused);
}

Status Engine::PlanOnThread(std::optional<ReplanCause> cause, std::vector<KvMove>* moves,
                            std::vector<RequestId>* paused) {
  if (std::optional<PlannerJobResult> done = planner_thread_->TryTake()) {
    OF_RETURN_IF_ERROR(AdoptDecision(std::move(done->decision), done->solve_time, done->cause, moves, paused));
    // Whatever happened while it solved (arrivals, finishes) is still pending.
    cause = trigger_.Pending();
    if (!cause && planner_->ReplanEveryStep()) cause = ReplanCause::kEveryStep;
  }
  if (planner_thread_->busy() && !NeedsPlanNow()) {
    ++counters_.late_plans;  // this step runs on the previous plan
    return Status::Ok();
  }
  auto start = [&](ReplanCause c) {
    PlanInput input;
    if (!BuildPlanInput(c, &input)) return;
    planner_thread_->Start(input, *cost_);
    trigger_.OnSolveStarted();
  };
  if (!planner_thread_->busy() && cause) start(*cause);
  // A request about to decode with no placement yet has no previous plan to run on, and a batch
  // the last plan paused entirely has nothing to run: wait for a solve that includes them (a job
  // started before it arrived does not, hence the second round).
  for (int round = 0; round < 2 && NeedsPlanNow(); ++round) {
    if (!planner_thread_->busy()) start(ReplanCause::kBatchChanged);
    if (!planner_thread_->busy()) break;
    PlannerJobResult done = planner_thread_->Wait();
    OF_RETURN_IF_ERROR(AdoptDecision(std::move(done.decision), done.solve_time, done.cause, moves, paused));
  }
  return Status::Ok();
}

bool Engine::NeedsPlanNow() {
  return DecodingUnplaced() || (sched_.num_in_batch() == 0 && !sched_.Paused().empty());
}

bool Engine::DecodingUnplaced() {
  for (Request* r : sched_.Decoding()) {
    if (!r->placed) return true;
  }
  return false;
}

Status Engine::AdoptDecision(StatusOr<PlanDecision> decision, Seconds solve_time, ReplanCause cause,
                             std::vector<KvMove>* moves, std::vector<RequestId>* paused) {
  last_solver_time_ = solve_time;
  last_solved_ = true;
  trigger_.Count(cause);
  ++counters_.replans[static_cast<size_t>(cause)];
  for (const PlanCandidate& c : candidates_) {
    if (Request* r = sched_.Find(c.id)) r->record.solver_time += solve_time;
  }
  if (!decision.ok()) {
    if (decision.status().code() != StatusCode::kInfeasible) return decision.status();
    // Nothing fits even with pausing: keep the batch as is and let growth relieve pressure.
    trigger_.OnPlanAdopted(1, Seconds(0));
    return Status::Ok();
  }
  trigger_.OnPlanAdopted(std::max(1, decision->window_steps), decision->predicted_step);
  predicted_step_ = decision->predicted_step;
  return ApplyDecision(*decision, moves, paused);
}

Status Engine::ApplyDecision(const PlanDecision& d, std::vector<KvMove>* moves,
                             std::vector<RequestId>* paused) {
  for (RequestId id : d.pause) {
    Request* r = sched_.Find(id);
    if (r && r->state != RequestState::kPaused) {
      PauseRequest(r, /*for_memory=*/false, moves);
      paused->push_back(id);
    }
  }
  // Shrinking placements first frees the blocks growing ones need.
  std::vector<std::pair<Request*, LayerMask>> grow;
  for (size_t i = 0; i < d.ids.size(); ++i) {
    Request* r = sched_.Find(d.ids[i]);
    if (!r) continue;
    LayerMask mask = LayerMask::FromDistance(d.distances[i], num_layers_);
    r->distance = d.distances[i];
    r->placed = true;
    if (r->state == RequestState::kPaused) ResumeRequest(r);
    if (mask.NumOnDevice() <= kv_.Get(r->id).mask.NumOnDevice()) {
      OF_RETURN_IF_ERROR(SetMask(r, mask, moves));
    } else {
      grow.emplace_back(r, std::move(mask));
    }
  }
  for (auto& [r, mask] : grow) {
    if (SetMask(r, mask, moves).ok()) continue;
    // The executor cannot apply this placement: keep the request as offloaded as the policy
    // allows for this step and ask for a new plan (spec section 5).
    ++counters_.apply_failures;
    trigger_.OnApplyFailed();
    if (planner_->MinDeviceBlocks(1, num_layers_) > 0) {
      PauseRequest(r, /*for_memory=*/true, moves);
      paused->push_back(r->id);
    } else {
      r->distance = Distance::Every(0);
      r->placed = true;
      OF_RETURN_IF_ERROR(SetMask(r, LayerMask::FromDistance(r->distance, num_layers_), moves));
    }
  }
  return Status::Ok();
}

StatusOr<bool> Engine::GrowOrRelieve(Request* r, int64_t tokens, std::vector<KvMove>* moves,
                                     std::vector<RequestId>* paused) {
  while (true) {
    Status s = kv_.Grow(r->id, tokens);
    if (s.ok()) return true;
    if (s.code() != StatusCode::kResourceExhausted) return s;
    if (kv_.ExtraDeviceBlocks(r->id, tokens) <= kv_.device_pool().free()) {
      FailRequest(r, "host KV pool exhausted: " + s.message());
      return false;
    }
    ++counters_.apply_failures;
    trigger_.OnApplyFailed();
    // Offloading policies move this request's layers to the host; the rest preempt the most
    // recently arrived request in the batch (vLLM's order), possibly this one.
    if (planner_->MinDeviceBlocks(1, num_layers_) == 0 && kv_.Get(r->id).mask.NumOnDevice() > 0) {
      r->distance = Distance::Every(0);
      r->placed = true;
      OF_RETURN_IF_ERROR(SetMask(r, LayerMask::FromDistance(r->distance, num_layers_), moves));
      continue;
    }
    Request* victim = r;
    for (auto& [id, other] : sched_.admitted()) {
      const bool running = other->state == RequestState::kDecoding || other->state == RequestState::kPrefilling;
      if (running && kv_.Has(id) && kv_.DeviceBlocksHeld(id) > 0 &&
          other->record.arrival >= victim->record.arrival && other != r) {
        victim = other;
      }
    }
    if (victim == r && kv_.Get(r->id).mask == LayerMask::Paused(num_layers_)) {
      FailRequest(r, "device KV pool cannot hold even one layer of this request: " + s.message());
      return false;
    }
    PauseRequest(victim, /*for_memory=*/true, moves);
    paused->push_back(victim->id);
    if (victim == r) return false;
  }
}

Status Engine::UnstickIfIdle() {
  // Nothing runs: paused requests come back first; a waiting request that cannot be admitted
  // with an empty batch never will be, so it fails instead of waiting forever.
  if (sched_.num_in_batch() > 0) return Status::Ok();
  if (!sched_.Paused().empty()) return Status::Ok();
  std::vector<Request*> waiting = sched_.Waiting();
  if (!waiting.empty() && !AdmissionFits(*waiting.front())) {
    FailRequest(waiting.front(), fmt::format("needs {} device blocks for its prompt; the pool has {}",
                                             planner_->MinDeviceBlocks(waiting.front()->spec.prompt_tokens, num_layers_),
                                             kv_.device_pool().capacity()));
  }
  return Status::Ok();
}

}  // namespace orbitflow
