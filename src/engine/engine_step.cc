// Engine::Step: one iteration of schedule -> plan -> execute -> update.
#include <algorithm>

#include <fmt/format.h>

#include "engine/engine.h"

namespace orbitflow {

StatusOr<bool> Engine::Step() {
  OF_RETURN_IF_ERROR(UnstickIfIdle());
  const Seconds start = clock_->Now();
  std::vector<KvMove> moves;
  std::vector<RequestId> paused;

  // 1. Schedule: admit from the waiting queue while the batch and the device have room.
  for (Request* r : sched_.Admit([this](const Request& r) { return AdmissionFits(r); })) {
    OF_RETURN_IF_ERROR(kv_.AddRequest(r->id, LayerMask::Paused(num_layers_)));
    r->record.first_scheduled = start;
    counters_.prompt_tokens += r->spec.prompt_tokens;
    trigger_.OnPrefillScheduled();
  }

  // 2. Plan, when a trigger fired (or every step for per-step policies).
  last_solved_ = false;
  std::optional<ReplanCause> cause = trigger_.Pending();
  if (!cause && planner_->ReplanEveryStep()) cause = ReplanCause::kEveryStep;
  if (sched_.num_in_batch() == 0 && !sched_.Paused().empty()) cause = ReplanCause::kBatchChanged;
  if (!cause && DecodingUnplaced()) cause = ReplanCause::kBatchChanged;
  if (planner_thread_) {
    OF_RETURN_IF_ERROR(PlanOnThread(cause, &moves, &paused));
  } else if (cause) {
    OF_RETURN_IF_ERROR(RunPlanner(*cause, &moves, &paused));
  }
  // A request about to decode that no plan has placed (the planner found nothing feasible) has
  // no residency to decode in: it waits, paused for lack of device blocks, for a later plan.
  for (Request* r : sched_.Decoding()) {
    if (r->placed) continue;
    PauseRequest(r, /*for_memory=*/true, &moves);
    paused.push_back(r->id);
    trigger_.OnApplyFailed();
  }
  if (sched_.num_in_batch() == 0 && !sched_.Paused().empty()) {
    // The policy paused everyone: nothing can make progress, so the largest request fails
    // rather than the engine spinning.
    std::vector<Request*> p = sched_.Paused();
    Request* biggest = *std::max_element(p.begin(), p.end(), [](Request* a, Request* b) {
      return a->total_tokens() < b->total_tokens();
    });
    FailRequest(biggest, fmt::format("policy '{}' paused every request; this one ({} tokens) "
                                     "cannot be placed", planner_->name(), biggest->total_tokens()));
    return true;
  }

  // 3. Choose this step's work and make room for the KV it writes.
  const std::vector<PrefillChoice> prefills = sched_.ChoosePrefills();
  const bool prefill_only = !options_.scheduler.chunked_prefill && !prefills.empty();
  StepPlan plan;
  plan.step = counters_.steps;
  for (const PrefillChoice& p : prefills) {
    OF_ASSIGN_OR_RETURN(bool ok, GrowOrRelieve(p.request, p.end, &moves, &paused));
    if (!ok || p.request->state != RequestState::kPrefilling) continue;
    std::span<const int32_t> ids;
    if (!p.request->spec.prompt.empty()) {
      ids = std::span<const int32_t>(p.request->spec.prompt).subspan(p.begin, p.end - p.begin);
    }
    plan.prefills.push_back({p.request->id, p.begin, p.end, p.end >= p.request->spec.prompt_tokens, ids});
  }
  if (!prefill_only) {
    for (Request* r : sched_.Decoding()) {
      OF_ASSIGN_OR_RETURN(bool ok, GrowOrRelieve(r, r->context_tokens() + 1, &moves, &paused));
      (void)ok;
    }
    // Growth may have preempted requests grown earlier: decode only those still running.
    for (Request* r : sched_.Decoding()) {
      plan.decodes.push_back({r->id, r->context_tokens(), r->last_token, r->distance});
      plan.batch_tokens += r->context_tokens() + 1;
    }
  }
  plan.moves = std::move(moves);
  plan.paused = std::move(paused);
  if (plan.prefills.empty() && plan.decodes.empty() && plan.moves.empty()) return false;

  // 4. Execute. A synchronous planner's time sits on the critical path (simulation only: live,
  // it really does).
  if (options_.planner_mode == PlannerMode::kSync && virtual_clock_ && last_solved_) {
    virtual_clock_->Advance(last_solver_time_);
  }
  OF_ASSIGN_OR_RETURN(StepResult result, executor_->Execute(plan, kv_));
  const Seconds now = clock_->Now();

  // 5. Update requests, metrics and triggers.
  for (const PrefillWork& p : plan.prefills) {
    if (Request* r = sched_.Find(p.id)) r->prefilled = p.end;
  }
  for (const DecodeWork& d : plan.decodes) {
    Request* r = sched_.Find(d.id);
    r->record.stall_time += result.stall;
    r->record.stall_count += result.stall.count() > 0;
    r->record.device_layer_fraction_sum +=
        static_cast<double>(kv_.Get(d.id).mask.NumOnDevice()) / num_layers_;
    r->record.device_layer_fraction_steps += 1;
    if (last_solved_) r->record.solver_estimated_time += predicted_step_;
  }
  counters_.h2d += result.h2d;
  counters_.d2h += result.d2h;
  steps_.push_back({.step = counters_.steps, .start = start, .duration = now - start,
                    .decode_batch = static_cast<int>(plan.decodes.size()),
                    .prefill_tokens = 0,
                    .device_blocks_used = kv_.device_pool().used(),
                    .device_blocks_total = kv_.device_pool().capacity(),
                    .solved = last_solved_, .solver_time = last_solved_ ? last_solver_time_ : Seconds(0),
                    .predicted = predicted_step_, .stall = result.stall, .h2d = result.h2d});
  for (const PrefillWork& p : plan.prefills) steps_.back().prefill_tokens += p.end - p.begin;
  ++counters_.steps;
  if (!plan.decodes.empty()) {
    ++counters_.decode_steps;
    trigger_.OnDecodeStep(result.step_time);
  }
  LearnCost(plan, result);
  Calibrate(plan, now - start);
  HandleTokens(result, now);
  return true;
}

void Engine::HandleTokens(const StepResult& result, Seconds now) {
  for (const TokenOutput& t : result.tokens) {
    Request* r = sched_.Find(t.id);
    if (!r) continue;
    if (r->state == RequestState::kPrefilling) {
      if (!r->prefill_done()) continue;  // a chunk that does not finish the prompt emits nothing
      r->state = RequestState::kDecoding;
      r->record.first_token = now;
    } else if (!r->record.token_times.empty()) {
      r->deposit.AddGap(now - r->record.token_times.back());
      r->record.deposit_peak = std::max(r->record.deposit_peak, r->deposit.deposit());
    }
    r->record.token_times.push_back(now);
    r->last_token = t.token;
    ++r->generated;
    ++counters_.generation_tokens;
    if (r->spec.stop_at_eos && t.token == options_.eos_token) {
      FinishRequest(r, FinishReason::kStop);
    } else if (r->generated >= r->spec.max_output_tokens) {
      FinishRequest(r, FinishReason::kLength);
    }
  }
}

}  // namespace orbitflow
