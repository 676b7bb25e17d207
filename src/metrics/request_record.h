// What the engine records about each request and each step, for scoring and reports.
//
// Plain data, filled by the engine as it runs and read by the scorer and the writers. Times are
// seconds on the engine's Clock (virtual in simulation, steady in live mode), so only
// differences between them mean anything.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "orbitflow/types.h"

namespace orbitflow {

// Why a request stopped. kLength: reached its output budget; kStop: ended naturally (end of
// sequence or a stop string); kCancelled: the client went away; kFailed: the engine gave up.
enum class FinishReason { kUnfinished, kLength, kStop, kCancelled, kFailed };

// "unfinished", "length", "stop", "cancelled", "failed" (OpenAI's names where they exist).
std::string_view FinishReasonName(FinishReason reason);

// kLength and kStop: the request produced everything it was going to.
constexpr bool IsCompleted(FinishReason reason) {
  return reason == FinishReason::kLength || reason == FinishReason::kStop;
}

// One interval during which a request was paused (Pause-Resume). While a pause is still open
// the engine may leave `end` before `begin`; readers treat such a span as lasting zero seconds.
struct PauseSpan {
  Seconds begin;
  Seconds end;
};

struct RequestRecord {
  RequestId id;
  int64_t prompt_tokens = 0;
  int64_t expected_output_tokens = 0;  // the output budget (trace length or max_tokens)
  Seconds slo{0};                      // per-token TBT SLO S
  Seconds arrival{0};
  std::optional<Seconds> first_scheduled, first_token, finished;
  std::vector<Seconds> token_times;  // time each output token was produced (first included)
  std::vector<PauseSpan> pauses;
  FinishReason reason = FinishReason::kUnfinished;
  std::string failure_message;
  int64_t stall_count = 0;  // decode steps of this request that stalled on the link
  Seconds stall_time{0};
  Seconds solver_time{0};            // planner time charged to this request
  Seconds solver_estimated_time{0};  // sum of predicted step times while it decoded
  // Mean share of layers on the device while decoding = sum / steps.
  double device_layer_fraction_sum = 0;
  int64_t device_layer_fraction_steps = 0;
  // Live Token Deposit tracking (the engine's own TokenDeposit for this request).
  int64_t deposit_peak = 0;
  int64_t deposit_releases = 0;
};

struct StepRecord {
  int64_t step = 0;
  Seconds start{0};
  Seconds duration{0};
  int decode_batch = 0;
  int64_t prefill_tokens = 0;
  int64_t device_blocks_used = 0;
  int64_t device_blocks_total = 0;
  bool solved = false;      // the planner ran for this step
  Seconds solver_time{0};   // its wall time when it ran
  Seconds predicted{0};     // the planner's predicted step time
  Seconds stall{0};         // time the step waited on the link
  Bytes h2d;                // moved host -> device (prefetches and bring-backs)
};

}  // namespace orbitflow
