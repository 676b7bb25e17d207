// The request table and the continuous-batching decisions: who is admitted from the waiting
// queue, which prompt chunks run this step, who decodes. It decides; the KV cache manager
// allocates; the engine loop ties them together. Not thread-safe: owned by the engine thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "sched/request.h"

namespace orbitflow {

struct SchedulerOptions {
  int max_batch = 4;                    // decode batch-size limit (running + prefilling)
  bool chunked_prefill = false;         // mix prompt chunks with decodes (else prefill steps run alone)
  int64_t prefill_chunk_tokens = 512;   // chunk size when chunked
  int64_t max_prefill_tokens = 1 << 20; // prompt tokens per step without chunking
};

// One prompt chunk chosen for this step.
struct PrefillChoice {
  Request* request;
  int64_t begin;
  int64_t end;
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options) : options_(options) {}

  Request* Add(RequestSpec spec, Seconds slo, Seconds arrival);
  Request* Find(RequestId id);
  // Moves admissible waiting requests (FIFO) into the prefilling state while the batch has
  // room (paused requests count: they hold a seat to resume into). `fits` says whether a request can be admitted now (device memory); admission stops at
  // the first that cannot (no overtaking, as vLLM). No admission while any request is paused
  // for lack of device blocks (spec section 7).
  std::vector<Request*> Admit(const std::function<bool(const Request&)>& fits);
  // Prompt chunks to run this step.
  std::vector<PrefillChoice> ChoosePrefills();
  // Requests that decode this step, in id order (deterministic).
  std::vector<Request*> Decoding();
  std::vector<Request*> Paused();
  std::vector<Request*> Waiting();

  // Marks finished, removes it from every queue; the record stays readable through Finished().
  void Finish(Request* r, FinishReason reason, Seconds now, std::string message = "");
  // Active = not finished (waiting, prefilling, decoding, paused).
  bool HasActive() const { return active_ > 0; }
  int64_t num_active() const { return active_; }
  int64_t num_in_batch() const;  // prefilling + decoding
  bool AnyPausedForMemory() const;
  // Records of finished requests, in finish order; moved out by TakeFinished.
  std::vector<RequestRecord> TakeFinished();
  std::map<RequestId, std::unique_ptr<Request>>& table() { return table_; }
  // The requests that left the waiting queue and have not finished (prefilling, decoding,
  // paused), by id: a step's work is found here without walking the waiting requests.
  const std::map<RequestId, Request*>& admitted() const { return admitted_; }
  const SchedulerOptions& options() const { return options_; }

 private:
  SchedulerOptions options_;
  int64_t next_id_ = 0;
  int64_t active_ = 0;
  std::map<RequestId, std::unique_ptr<Request>> table_;  // every unfinished request
  std::deque<Request*> waiting_;
  std::map<RequestId, Request*> admitted_;
  std::vector<RequestRecord> finished_;
};

}  // namespace orbitflow
