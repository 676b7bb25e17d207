#include "sched/scheduler.h"

#include <algorithm>

namespace orbitflow {

Request* Scheduler::Add(RequestSpec spec, Seconds slo, Seconds arrival) {
  const RequestId id(next_id_++);
  auto req = std::make_unique<Request>(id, std::move(spec), slo, arrival);
  Request* r = req.get();
  table_.emplace(id, std::move(req));
  waiting_.push_back(r);
  ++active_;
  return r;
}

Request* Scheduler::Find(RequestId id) {
  auto it = table_.find(id);
  return it == table_.end() ? nullptr : it->second.get();
}

int64_t Scheduler::num_in_batch() const {
  int64_t n = 0;
  for (const auto& [id, r] : admitted_) {
    n += r->state == RequestState::kPrefilling || r->state == RequestState::kDecoding;
  }
  return n;
}

bool Scheduler::AnyPausedForMemory() const {
  return std::any_of(admitted_.begin(), admitted_.end(), [](const auto& kv) {
    return kv.second->state == RequestState::kPaused && kv.second->paused_for_memory;
  });
}

std::vector<Request*> Scheduler::Admit(const std::function<bool(const Request&)>& fits) {
  std::vector<Request*> admitted;
  if (AnyPausedForMemory()) return admitted;
  // Paused requests keep their seat: a plan may resume them at any batch change, and the batch
  // must never outgrow max_batch when it does.
  int64_t in_batch = static_cast<int64_t>(admitted_.size());
  while (!waiting_.empty() && in_batch < options_.max_batch) {
    Request* r = waiting_.front();
    if (!fits(*r)) break;
    waiting_.pop_front();
    r->state = RequestState::kPrefilling;
    admitted_.emplace(r->id, r);
    admitted.push_back(r);
    ++in_batch;
  }
  return admitted;
}

std::vector<PrefillChoice> Scheduler::ChoosePrefills() {
  std::vector<PrefillChoice> out;
  int64_t budget = options_.chunked_prefill ? options_.prefill_chunk_tokens : options_.max_prefill_tokens;
  for (auto& [id, r] : admitted_) {
    if (r->state != RequestState::kPrefilling || budget <= 0) continue;
    const int64_t left = r->spec.prompt_tokens - r->prefilled;
    // Without chunking a prompt runs whole; the first one always runs even past the budget.
    int64_t n = options_.chunked_prefill ? std::min(left, budget) : left;
    if (!options_.chunked_prefill && !out.empty() && n > budget) break;
    out.push_back({r, r->prefilled, r->prefilled + n});
    budget -= n;
  }
  return out;
}

std::vector<Request*> Scheduler::Decoding() {
  std::vector<Request*> out;
  for (auto& [id, r] : admitted_) {
    if (r->state == RequestState::kDecoding) out.push_back(r);
  }
  return out;
}

std::vector<Request*> Scheduler::Paused() {
  std::vector<Request*> out;
  for (auto& [id, r] : admitted_) {
    if (r->state == RequestState::kPaused) out.push_back(r);
  }
  return out;
}

std::vector<Request*> Scheduler::Waiting() { return {waiting_.begin(), waiting_.end()}; }

void Scheduler::Finish(Request* r, FinishReason reason, Seconds now, std::string message) {
  if (r->state == RequestState::kWaiting) std::erase(waiting_, r);
  r->state = RequestState::kFinished;
  r->record.reason = reason;
  r->record.failure_message = std::move(message);
  r->record.finished = now;
  if (!r->record.pauses.empty() && r->record.pauses.back().end < r->record.pauses.back().begin) {
    r->record.pauses.back().end = now;
  }
  r->record.deposit_releases = r->deposit.releases();
  finished_.push_back(std::move(r->record));
  --active_;
  admitted_.erase(r->id);
  table_.erase(r->id);
}

std::vector<RequestRecord> Scheduler::TakeFinished() {
  std::vector<RequestRecord> out;
  out.swap(finished_);
  return out;
}

}  // namespace orbitflow
