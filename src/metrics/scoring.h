// SLO scoring of a finished run (spec section 9): TBT attainment with and without Token
// Deposit, TPOT attainment, tail TBT, throughput, device KV utilisation and solver overhead.
//
// Definitions, per request r with SLO S_r:
//   - Gaps are the differences between consecutive token_times; the first token is scored as
//     TTFT, never as a gap.
//   - N_r, the tokens a request is scored on: its expected_output_tokens, except that a request
//     that finished with kStop ended by itself, so its expected count was only an upper bound
//     and N_r = tokens it produced. N_r is never below what was produced.
//   - Missing tokens (N_r - produced, if positive) count as violations: failed, cancelled and
//     unfinished requests are charged for every token they never delivered.
//   - A gap is late (without deposit) iff gap > S_r (see IsLateGap); with deposit, violations
//     are TokenDeposit's.
//   - TBT attainment = (N - V) / N over all requests (1 when N = 0).
//   - TPOT attainment = share of requests that completed (kLength or kStop) with mean gap <= S_r;
//     a completed request with fewer than two tokens has no gaps and passes (1 with no requests).
// Thread-compatible: pure functions of their inputs.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "metrics/request_record.h"
#include "orbitflow/types.h"

namespace orbitflow {

struct ScoreOptions {
  // Nothing to choose yet; kept so callers need not change when scoring grows options.
};

// The per-request quantities Score aggregates; the per-request CSV writes the same numbers.
struct RequestScore {
  int64_t produced = 0;            // output tokens produced
  int64_t scored_tokens = 0;       // N_r
  int64_t missing = 0;             // N_r - produced, if positive
  int64_t late_gaps = 0;           // gaps > S_r
  int64_t late_gaps_deposit = 0;   // TokenDeposit violations over the gaps
  int64_t violations() const { return late_gaps + missing; }
  int64_t violations_deposit() const { return late_gaps_deposit + missing; }
  std::optional<Seconds> ttft;      // first token - arrival
  std::optional<Seconds> e2e;       // finished - arrival
  std::optional<Seconds> mean_gap;  // (last token - first token) / gaps, with >= 2 tokens
  bool tpot_ok = false;
  Seconds pause_time{0};
};

// Consecutive differences of r.token_times.
std::vector<Seconds> TokenGaps(const RequestRecord& r);
RequestScore ScoreRequest(const RequestRecord& r);

struct SloSummary {
  // Requests by outcome.
  int64_t requests = 0, completed = 0, failed = 0, cancelled = 0, unfinished = 0;
  // Tokens: expected (sum of expected_output_tokens), produced, scored (N), missing, late gaps.
  int64_t expected_tokens = 0, produced_tokens = 0, scored_tokens = 0, missing_tokens = 0;
  int64_t late_tokens = 0, late_tokens_deposit = 0;
  double tbt_attainment = 0, tbt_attainment_deposit = 0, tpot_attainment = 0;
  // Pooled over every gap of every request; 0 when there are no gaps.
  double mean_tbt_s = 0, p50_tbt_s = 0, p90_tbt_s = 0, p95_tbt_s = 0, p99_tbt_s = 0;
  double p90_tbt_ratio = 0, p95_tbt_ratio = 0, p99_tbt_ratio = 0;  // of gap / S_r
  // Means over requests that have the quantity (0 when none does).
  double mean_ttft_s = 0, p95_ttft_s = 0, mean_tpot_s = 0, mean_e2e_s = 0;
  // Throughput = (input + output tokens of completed requests) / duration, where duration =
  // last finish - first arrival.
  int64_t completed_input_tokens = 0, completed_output_tokens = 0;
  double duration_s = 0, throughput_tok_s = 0;
  // Steps.
  int64_t steps = 0;
  double mean_step_s = 0;
  double device_kv_util = 0;  // mean over steps (with a device) of used / total blocks
  // Solver: calls = steps where it ran; overhead = mean solver time on those steps / mean step
  // time over all steps, in percent; time share = mean over requests of solver_time / e2e.
  int64_t solver_calls = 0;
  double solver_calls_per_request = 0, mean_solver_s = 0, solver_overhead_pct = 0;
  double solver_time_share_pct = 0;
  // Stalls and Pause-Resume, summed over requests.
  int64_t stalls = 0, pauses = 0;
  double stall_time_s = 0, pause_time_s = 0;
};

SloSummary Score(std::span<const RequestRecord> requests, std::span<const StepRecord> steps,
                 const ScoreOptions& options = {});

}  // namespace orbitflow
