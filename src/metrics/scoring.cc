#include "metrics/scoring.h"

#include <algorithm>
#include <array>
#include <limits>

#include "metrics/percentile.h"
#include "metrics/token_deposit.h"

namespace orbitflow {
namespace {

double SafeDiv(double num, double den) { return den > 0 ? num / den : 0.0; }

// Mean of `values`, or 0 when there are none (summaries hold numbers, never NaN).
double MeanOrZero(std::span<const double> values) { return values.empty() ? 0.0 : Mean(values); }

// Gap and gap/SLO samples pooled over all requests, for the tail TBT figures.
struct PooledGaps {
  std::vector<double> seconds;
  std::vector<double> ratios;
};

void ScoreTail(PooledGaps pooled, SloSummary& s) {
  if (pooled.seconds.empty()) return;
  s.mean_tbt_s = Mean(pooled.seconds);
  static constexpr std::array<double, 4> kTbt = {50, 90, 95, 99};
  const std::vector<double> tbt = Percentiles(std::move(pooled.seconds), kTbt);
  s.p50_tbt_s = tbt[0];
  s.p90_tbt_s = tbt[1];
  s.p95_tbt_s = tbt[2];
  s.p99_tbt_s = tbt[3];
  static constexpr std::array<double, 3> kRatio = {90, 95, 99};
  const std::vector<double> ratio = Percentiles(std::move(pooled.ratios), kRatio);
  s.p90_tbt_ratio = ratio[0];
  s.p95_tbt_ratio = ratio[1];
  s.p99_tbt_ratio = ratio[2];
}

void ScoreSteps(std::span<const StepRecord> steps, int64_t requests, SloSummary& s) {
  s.steps = static_cast<int64_t>(steps.size());
  double step_time = 0, solver_time = 0, util_sum = 0;
  int64_t util_steps = 0;
  for (const StepRecord& st : steps) {
    step_time += st.duration.count();
    if (st.solved) {
      ++s.solver_calls;
      solver_time += st.solver_time.count();
    }
    if (st.device_blocks_total > 0) {
      util_sum += static_cast<double>(st.device_blocks_used) /
                  static_cast<double>(st.device_blocks_total);
      ++util_steps;
    }
  }
  s.mean_step_s = SafeDiv(step_time, static_cast<double>(s.steps));
  s.device_kv_util = SafeDiv(util_sum, static_cast<double>(util_steps));
  s.mean_solver_s = SafeDiv(solver_time, static_cast<double>(s.solver_calls));
  s.solver_overhead_pct = 100.0 * SafeDiv(s.mean_solver_s, s.mean_step_s);
  s.solver_calls_per_request =
      SafeDiv(static_cast<double>(s.solver_calls), static_cast<double>(requests));
}

void CountOutcome(FinishReason reason, SloSummary& s) {
  switch (reason) {
    case FinishReason::kLength:
    case FinishReason::kStop: ++s.completed; break;
    case FinishReason::kFailed: ++s.failed; break;
    case FinishReason::kCancelled: ++s.cancelled; break;
    case FinishReason::kUnfinished: ++s.unfinished; break;
  }
}

}  // namespace

std::vector<Seconds> TokenGaps(const RequestRecord& r) {
  std::vector<Seconds> gaps;
  if (r.token_times.size() < 2) return gaps;
  gaps.reserve(r.token_times.size() - 1);
  for (size_t i = 1; i < r.token_times.size(); ++i) {
    gaps.push_back(r.token_times[i] - r.token_times[i - 1]);
  }
  return gaps;
}

namespace {

// ScoreRequest with the gaps already computed, so Score walks each request's tokens once.
RequestScore ScoreRequestGaps(const RequestRecord& r, std::span<const Seconds> gaps) {
  RequestScore out;
  out.produced = static_cast<int64_t>(r.token_times.size());
  out.scored_tokens = r.reason == FinishReason::kStop
                          ? out.produced
                          : std::max(r.expected_output_tokens, out.produced);
  out.missing = out.scored_tokens - out.produced;

  TokenDeposit deposit(r.slo);
  for (Seconds gap : gaps) {
    out.late_gaps += IsLateGap(gap, r.slo);
    deposit.AddGap(gap);
  }
  out.late_gaps_deposit = deposit.violations();

  if (r.first_token) {
    out.ttft = *r.first_token - r.arrival;
  } else if (!r.token_times.empty()) {
    out.ttft = r.token_times.front() - r.arrival;
  }
  if (r.finished) out.e2e = *r.finished - r.arrival;
  if (out.produced >= 2) {
    out.mean_gap = (r.token_times.back() - r.token_times.front()) / double(out.produced - 1);
  }
  out.tpot_ok = IsCompleted(r.reason) && (!out.mean_gap || !IsLateGap(*out.mean_gap, r.slo));
  for (const PauseSpan& p : r.pauses) out.pause_time += std::max(Seconds(0), p.end - p.begin);
  return out;
}

}  // namespace

RequestScore ScoreRequest(const RequestRecord& r) { return ScoreRequestGaps(r, TokenGaps(r)); }

SloSummary Score(std::span<const RequestRecord> requests, std::span<const StepRecord> steps,
                 const ScoreOptions& /*options*/) {
  SloSummary s;
  s.requests = static_cast<int64_t>(requests.size());
  PooledGaps pooled;
  std::vector<double> ttft, tpot, e2e, solver_share;
  int64_t tpot_ok = 0;
  double first_arrival = std::numeric_limits<double>::infinity();
  double last_finish = -std::numeric_limits<double>::infinity();

  for (const RequestRecord& r : requests) {
    const std::vector<Seconds> gaps = TokenGaps(r);
    const RequestScore rs = ScoreRequestGaps(r, gaps);
    CountOutcome(r.reason, s);
    s.expected_tokens += r.expected_output_tokens;
    s.produced_tokens += rs.produced;
    s.scored_tokens += rs.scored_tokens;
    s.missing_tokens += rs.missing;
    s.late_tokens += rs.late_gaps;
    s.late_tokens_deposit += rs.late_gaps_deposit;
    tpot_ok += rs.tpot_ok;
    for (Seconds gap : gaps) {
      pooled.seconds.push_back(gap.count());
      pooled.ratios.push_back(SafeDiv(gap.count(), r.slo.count()));
    }
    if (rs.ttft) ttft.push_back(rs.ttft->count());
    if (rs.mean_gap) tpot.push_back(rs.mean_gap->count());
    if (rs.e2e) e2e.push_back(rs.e2e->count());
    if (rs.e2e && rs.e2e->count() > 0) {
      solver_share.push_back(100.0 * r.solver_time.count() / rs.e2e->count());
    }
    if (IsCompleted(r.reason)) {
      s.completed_input_tokens += r.prompt_tokens;
      s.completed_output_tokens += rs.produced;
    }
    first_arrival = std::min(first_arrival, r.arrival.count());
    if (r.finished) last_finish = std::max(last_finish, r.finished->count());
    s.stalls += r.stall_count;
    s.stall_time_s += r.stall_time.count();
    s.pauses += static_cast<int64_t>(r.pauses.size());
    s.pause_time_s += rs.pause_time.count();
  }

  const double n = static_cast<double>(s.scored_tokens);
  const auto attainment = [n](int64_t violations) {
    return n > 0 ? (n - static_cast<double>(violations)) / n : 1.0;
  };
  s.tbt_attainment = attainment(s.late_tokens + s.missing_tokens);
  s.tbt_attainment_deposit = attainment(s.late_tokens_deposit + s.missing_tokens);
  s.tpot_attainment = s.requests > 0 ? static_cast<double>(tpot_ok) / s.requests : 1.0;

  s.mean_ttft_s = MeanOrZero(ttft);
  s.p95_ttft_s = ttft.empty() ? 0.0 : Percentile(ttft, 95);
  s.mean_tpot_s = MeanOrZero(tpot);
  s.mean_e2e_s = MeanOrZero(e2e);
  s.solver_time_share_pct = MeanOrZero(solver_share);
  if (last_finish > first_arrival) {
    s.duration_s = last_finish - first_arrival;
    s.throughput_tok_s =
        static_cast<double>(s.completed_input_tokens + s.completed_output_tokens) / s.duration_s;
  }
  ScoreTail(std::move(pooled), s);
  ScoreSteps(steps, s.requests, s);
  return s;
}

}  // namespace orbitflow
