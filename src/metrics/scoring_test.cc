#include "metrics/scoring.h"

#include <vector>

#include <gtest/gtest.h>

namespace orbitflow {
namespace {

std::vector<Seconds> Times(std::initializer_list<double> ts) {
  std::vector<Seconds> out;
  for (double t : ts) out.emplace_back(t);
  return out;
}

// Three requests and three steps; every expected value below is worked out by hand.
//   r0: S = 1,   tokens at 1, 1.5, 2, 3.5 (gaps 0.5 0.5 1.5), finished (length) at 3.5.
//       Without deposit gap 1.5 is late. With it: 0.5 early (k 1), 0.5 on time (G = O = 1),
//       1.5 late by 0.5: release (O 2), then 3 >= 2.5, buffered. No violation.
//   r1: S = 0.5, tokens at 2, 3, 3.5 (gaps 1.0 0.5), finished (length) at 3.5.
//       Gap 1.0 is late with or without deposit (k is 0); 0.5 is on time.
//   r2: S = 1,   tokens at 4, 5 (gap 1.0, on time), unfinished: 3 of 5 tokens missing.
struct Example {
  std::vector<RequestRecord> requests;
  std::vector<StepRecord> steps;
};

Example MakeExample() {
  Example ex;
  RequestRecord r0;
  r0.id = RequestId(0);
  r0.prompt_tokens = 10;
  r0.expected_output_tokens = 4;
  r0.slo = Seconds(1.0);
  r0.arrival = Seconds(0);
  r0.first_scheduled = Seconds(0);
  r0.first_token = Seconds(1);
  r0.token_times = Times({1, 1.5, 2, 3.5});
  r0.finished = Seconds(3.5);
  r0.reason = FinishReason::kLength;
  r0.pauses = {{Seconds(2.0), Seconds(3.0)}};
  r0.stall_count = 1;
  r0.stall_time = Seconds(0.25);
  r0.solver_time = Seconds(0.035);

  RequestRecord r1;
  r1.id = RequestId(1);
  r1.prompt_tokens = 20;
  r1.expected_output_tokens = 3;
  r1.slo = Seconds(0.5);
  r1.arrival = Seconds(1);
  r1.first_scheduled = Seconds(1.5);
  r1.first_token = Seconds(2);
  r1.token_times = Times({2, 3, 3.5});
  r1.finished = Seconds(3.5);
  r1.reason = FinishReason::kLength;
  r1.stall_count = 2;
  r1.stall_time = Seconds(0.5);
  r1.solver_time = Seconds(0.025);

  RequestRecord r2;
  r2.id = RequestId(2);
  r2.prompt_tokens = 30;
  r2.expected_output_tokens = 5;
  r2.slo = Seconds(1.0);
  r2.arrival = Seconds(2);
  r2.first_scheduled = Seconds(3);
  r2.first_token = Seconds(4);
  r2.token_times = Times({4, 5});
  r2.pauses = {{Seconds(4.2), Seconds(4.8)}};
  ex.requests = {r0, r1, r2};

  // Utilisation 0.5, 0.75, 1; solver ran on the first and last step (10 ms, 30 ms).
  ex.steps = {
      {.step = 0, .start = Seconds(0), .duration = Seconds(0.5), .device_blocks_used = 50,
       .device_blocks_total = 100, .solved = true, .solver_time = Seconds(0.01)},
      {.step = 1, .start = Seconds(0.5), .duration = Seconds(1.0), .device_blocks_used = 75,
       .device_blocks_total = 100},
      {.step = 2, .start = Seconds(1.5), .duration = Seconds(1.5), .device_blocks_used = 100,
       .device_blocks_total = 100, .solved = true, .solver_time = Seconds(0.03)},
  };
  return ex;
}

TEST(ScoreTest, HandMadeThreeRequestExample) {
  const Example ex = MakeExample();
  const SloSummary s = Score(ex.requests, ex.steps, ScoreOptions{});
  constexpr double kEps = 1e-12;

  EXPECT_EQ(s.requests, 3);
  EXPECT_EQ(s.completed, 2);
  EXPECT_EQ(s.failed, 0);
  EXPECT_EQ(s.cancelled, 0);
  EXPECT_EQ(s.unfinished, 1);
  EXPECT_EQ(s.expected_tokens, 12);
  EXPECT_EQ(s.produced_tokens, 9);
  EXPECT_EQ(s.scored_tokens, 12);
  EXPECT_EQ(s.missing_tokens, 3);
  EXPECT_EQ(s.late_tokens, 2);          // r0's 1.5, r1's 1.0
  EXPECT_EQ(s.late_tokens_deposit, 1);  // r1's 1.0

  EXPECT_NEAR(s.tbt_attainment, 7.0 / 12.0, kEps);          // (12 - 2 - 3) / 12
  EXPECT_NEAR(s.tbt_attainment_deposit, 8.0 / 12.0, kEps);  // (12 - 1 - 3) / 12
  EXPECT_NEAR(s.tpot_attainment, 1.0 / 3.0, kEps);  // r0 (mean 0.833 <= 1); r1 0.75 > 0.5

  // Gaps 0.5 0.5 1.5 1.0 0.5 1.0 -> sorted 0.5 0.5 0.5 1 1 1.5.
  EXPECT_NEAR(s.mean_tbt_s, 5.0 / 6.0, kEps);
  EXPECT_NEAR(s.p50_tbt_s, 0.75, kEps);   // rank 2.5
  EXPECT_NEAR(s.p90_tbt_s, 1.25, kEps);   // rank 4.5
  EXPECT_NEAR(s.p95_tbt_s, 1.375, kEps);  // rank 4.75
  EXPECT_NEAR(s.p99_tbt_s, 1.475, kEps);  // rank 4.95
  // Ratios 0.5 0.5 1.5 | 2 1 | 1 -> sorted 0.5 0.5 1 1 1.5 2.
  EXPECT_NEAR(s.p90_tbt_ratio, 1.75, kEps);
  EXPECT_NEAR(s.p95_tbt_ratio, 1.875, kEps);
  EXPECT_NEAR(s.p99_tbt_ratio, 1.975, kEps);

  EXPECT_NEAR(s.mean_ttft_s, 4.0 / 3.0, kEps);  // 1, 1, 2
  EXPECT_NEAR(s.p95_ttft_s, 1.9, kEps);         // rank 1.9 of 1 1 2
  EXPECT_NEAR(s.mean_tpot_s, (2.5 / 3.0 + 0.75 + 1.0) / 3.0, kEps);
  EXPECT_NEAR(s.mean_e2e_s, 3.0, kEps);  // 3.5 and 2.5

  EXPECT_EQ(s.completed_input_tokens, 30);
  EXPECT_EQ(s.completed_output_tokens, 7);
  EXPECT_NEAR(s.duration_s, 3.5, kEps);               // first arrival 0, last finish 3.5
  EXPECT_NEAR(s.throughput_tok_s, 37.0 / 3.5, kEps);  // (30 + 7) / 3.5

  EXPECT_EQ(s.steps, 3);
  EXPECT_NEAR(s.mean_step_s, 1.0, kEps);
  EXPECT_NEAR(s.device_kv_util, 0.75, kEps);
  EXPECT_EQ(s.solver_calls, 2);
  EXPECT_NEAR(s.solver_calls_per_request, 2.0 / 3.0, kEps);
  EXPECT_NEAR(s.mean_solver_s, 0.02, kEps);
  EXPECT_NEAR(s.solver_overhead_pct, 2.0, kEps);  // 0.02 / 1.0
  EXPECT_NEAR(s.solver_time_share_pct, 1.0, kEps);  // 0.035 / 3.5 and 0.025 / 2.5

  EXPECT_EQ(s.stalls, 3);
  EXPECT_NEAR(s.stall_time_s, 0.75, kEps);
  EXPECT_EQ(s.pauses, 2);
  EXPECT_NEAR(s.pause_time_s, 1.6, kEps);  // 1.0 + 0.6
}

TEST(ScoreTest, PerRequestScores) {
  const Example ex = MakeExample();
  const RequestScore r0 = ScoreRequest(ex.requests[0]);
  EXPECT_EQ(r0.produced, 4);
  EXPECT_EQ(r0.scored_tokens, 4);
  EXPECT_EQ(r0.missing, 0);
  EXPECT_EQ(r0.late_gaps, 1);
  EXPECT_EQ(r0.late_gaps_deposit, 0);
  EXPECT_EQ(r0.violations(), 1);
  EXPECT_EQ(r0.violations_deposit(), 0);
  ASSERT_TRUE(r0.mean_gap.has_value());
  EXPECT_NEAR(r0.mean_gap->count(), 2.5 / 3.0, 1e-12);
  EXPECT_TRUE(r0.tpot_ok);
  EXPECT_NEAR(r0.pause_time.count(), 1.0, 1e-12);

  const RequestScore r2 = ScoreRequest(ex.requests[2]);
  EXPECT_EQ(r2.missing, 3);
  EXPECT_EQ(r2.violations(), 3);
  EXPECT_EQ(r2.violations_deposit(), 3);
  EXPECT_FALSE(r2.e2e.has_value());
  EXPECT_FALSE(r2.tpot_ok);
  ASSERT_TRUE(r2.ttft.has_value());
  EXPECT_DOUBLE_EQ(r2.ttft->count(), 2.0);

  const std::vector<Seconds> gaps = TokenGaps(ex.requests[1]);
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_DOUBLE_EQ(gaps[0].count(), 1.0);
  EXPECT_DOUBLE_EQ(gaps[1].count(), 0.5);
}

TEST(ScoreTest, StopIsScoredOnWhatItProducedAndFailuresOnWhatTheyOwed) {
  RequestRecord stop;  // asked for up to 10, ended by itself after 3 on-time tokens
  stop.expected_output_tokens = 10;
  stop.slo = Seconds(1);
  stop.token_times = Times({1, 2, 3});
  stop.finished = Seconds(3);
  stop.reason = FinishReason::kStop;

  RequestRecord failed;  // failed before its first token
  failed.expected_output_tokens = 6;
  failed.slo = Seconds(1);
  failed.arrival = Seconds(1);
  failed.finished = Seconds(2);
  failed.reason = FinishReason::kFailed;

  RequestRecord single;  // one token, then done: no gaps, passes TPOT
  single.expected_output_tokens = 1;
  single.slo = Seconds(1);
  single.token_times = Times({0.5});
  single.finished = Seconds(0.5);
  single.reason = FinishReason::kLength;

  const std::vector<RequestRecord> rs = {stop, failed, single};
  const SloSummary s = Score(rs, {}, {});
  EXPECT_EQ(s.completed, 2);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.expected_tokens, 17);
  EXPECT_EQ(s.scored_tokens, 10);  // 3 + 6 + 1
  EXPECT_EQ(s.missing_tokens, 6);
  EXPECT_NEAR(s.tbt_attainment, 4.0 / 10.0, 1e-12);
  EXPECT_NEAR(s.tbt_attainment_deposit, 4.0 / 10.0, 1e-12);
  EXPECT_NEAR(s.tpot_attainment, 2.0 / 3.0, 1e-12);
  // No steps: step figures stay 0 instead of dividing by zero.
  EXPECT_EQ(s.steps, 0);
  EXPECT_EQ(s.mean_step_s, 0.0);
  EXPECT_EQ(s.solver_overhead_pct, 0.0);
  EXPECT_EQ(s.device_kv_util, 0.0);
  // Throughput: (0 + 3) + (0 + 1) tokens over 0 .. 3 s.
  EXPECT_NEAR(s.throughput_tok_s, 4.0 / 3.0, 1e-12);
}

TEST(ScoreTest, NothingToScore) {
  const SloSummary s = Score({}, {}, {});
  EXPECT_EQ(s.requests, 0);
  EXPECT_EQ(s.tbt_attainment, 1.0);
  EXPECT_EQ(s.tbt_attainment_deposit, 1.0);
  EXPECT_EQ(s.tpot_attainment, 1.0);
  EXPECT_EQ(s.p95_tbt_s, 0.0);
  EXPECT_EQ(s.throughput_tok_s, 0.0);
  EXPECT_EQ(s.solver_calls_per_request, 0.0);
}

TEST(ScoreTest, OpenPauseCountsAsZeroTime) {
  RequestRecord r;
  r.slo = Seconds(1);
  r.pauses = {{Seconds(5), Seconds(-1)}};  // still open
  EXPECT_EQ(ScoreRequest(r).pause_time.count(), 0.0);
}

}  // namespace
}  // namespace orbitflow
