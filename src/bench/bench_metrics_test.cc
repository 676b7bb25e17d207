// The bench figures against values worked out by hand (see the comments for the arithmetic).
#include "bench/bench_metrics.h"

#include <optional>

#include <gtest/gtest.h>

namespace orbitflow {
namespace {

RequestOutcome Ok(int64_t index, double send, int64_t prompt, std::vector<double> chunks, double latency) {
  RequestOutcome o;
  o.index = index;
  o.success = true;
  o.send_s = send;
  o.prompt_tokens = prompt;
  o.output_tokens = static_cast<int64_t>(chunks.size());
  o.expected_output_tokens = o.output_tokens;
  o.chunk_s = std::move(chunks);
  o.latency_s = latency;
  o.finish_reason = "length";
  return o;
}

// A: 3 tokens at 100, 120, 200 ms; B: 2 tokens at 200, 300 ms; C: failed (asked 4 tokens).
std::vector<RequestOutcome> ThreeRequests() {
  RequestOutcome failed;
  failed.index = 2;
  failed.send_s = 0.6;
  failed.prompt_tokens = 30;
  failed.expected_output_tokens = 4;
  failed.error = "HTTP 429: full";
  return {Ok(0, 0.0, 10, {0.100, 0.120, 0.200}, 0.200), Ok(1, 0.5, 20, {0.200, 0.300}, 0.300), failed};
}

GoodputThresholds Goodput(std::optional<double> ttft, std::optional<double> tpot, std::optional<double> e2el) {
  GoodputThresholds g;
  g.ttft_ms = ttft;
  g.tpot_ms = tpot;
  g.e2el_ms = e2el;
  return g;
}

TEST(BenchMetricsTest, CountsAndThroughput) {
  const auto outcomes = ThreeRequests();
  const BenchSummary s = SummarizeBench(outcomes, 1.0, 60, {});
  EXPECT_EQ(s.num_requests, 3);
  EXPECT_EQ(s.completed, 2);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.total_input_tokens, 30);   // failed requests do not count (vLLM)
  EXPECT_EQ(s.total_output_tokens, 5);
  EXPECT_DOUBLE_EQ(s.request_throughput, 2.0);
  EXPECT_DOUBLE_EQ(s.output_throughput, 5.0);
  EXPECT_DOUBLE_EQ(s.total_token_throughput, 35.0);
  EXPECT_FALSE(s.request_goodput.has_value());
}

TEST(BenchMetricsTest, LatencyStatistics) {
  const auto outcomes = ThreeRequests();
  const BenchSummary s = SummarizeBench(outcomes, 1.0, 60, {});
  // TTFT {100, 200}: numpy percentile rank p/100 * (n-1).
  EXPECT_NEAR(s.ttft_ms.mean, 150, 1e-9);
  EXPECT_NEAR(s.ttft_ms.median, 150, 1e-9);
  EXPECT_NEAR(s.ttft_ms.std, 50, 1e-9);
  EXPECT_NEAR(s.ttft_ms.p90, 190, 1e-9);
  EXPECT_NEAR(s.ttft_ms.p99, 199, 1e-9);
  // TPOT: A (200 - 100) / 2 = 50, B (300 - 200) / 1 = 100.
  EXPECT_NEAR(s.tpot_ms.mean, 75, 1e-9);
  EXPECT_NEAR(s.tpot_ms.std, 25, 1e-9);
  EXPECT_NEAR(s.tpot_ms.p95, 97.5, 1e-9);
  // ITL {20, 80, 100}: mean 66.67, std sqrt(3466.67 / 3), p90 at rank 1.8 = 96.
  EXPECT_EQ(s.itl_samples, 3);
  EXPECT_NEAR(s.itl_ms.mean, 200.0 / 3, 1e-9);
  EXPECT_NEAR(s.itl_ms.median, 80, 1e-9);
  EXPECT_NEAR(s.itl_ms.std, 33.993463, 1e-5);
  EXPECT_NEAR(s.itl_ms.p90, 96, 1e-9);
  EXPECT_NEAR(s.itl_ms.p95, 98, 1e-9);
  EXPECT_NEAR(s.itl_ms.p99, 99.6, 1e-9);
  // E2EL {200, 300}.
  EXPECT_NEAR(s.e2el_ms.mean, 250, 1e-9);
  EXPECT_NEAR(s.e2el_ms.p90, 290, 1e-9);
}

TEST(BenchMetricsTest, SloAttainment) {
  const auto outcomes = ThreeRequests();
  const BenchSummary s = SummarizeBench(outcomes, 1.0, 60, {});
  // Scored tokens 3 + 2 + 4 (C never delivered its 4). Without deposit: A's 80 ms gap and B's
  // 100 ms gap are late, plus C's 4 missing: 6 of 9.
  EXPECT_NEAR(s.tbt_attainment, 3.0 / 9, 1e-12);
  // With deposit, A's 20 ms gap banks a token that covers its 80 ms gap: 5 violations of 9.
  EXPECT_NEAR(s.tbt_attainment_deposit, 4.0 / 9, 1e-12);
  // TPOT: A's mean gap 50 <= 60 passes; B's 100 fails; C failed.
  EXPECT_NEAR(s.tpot_attainment, 1.0 / 3, 1e-12);
}

TEST(BenchMetricsTest, Goodput) {
  const auto outcomes = ThreeRequests();
  // A: TTFT 100 <= 150 and TPOT 50 <= 60; B's TTFT 200 misses.
  BenchSummary s = SummarizeBench(outcomes, 2.0, 60, Goodput(150, 60, std::nullopt));
  ASSERT_TRUE(s.request_goodput.has_value());
  EXPECT_DOUBLE_EQ(*s.request_goodput, 0.5);
  EXPECT_DOUBLE_EQ(*s.goodput_fraction, 1.0 / 3);
  s = SummarizeBench(outcomes, 1.0, 60, Goodput(std::nullopt, std::nullopt, 300));  // inclusive: both pass
  EXPECT_DOUBLE_EQ(*s.request_goodput, 2.0);
}

TEST(BenchMetricsTest, OneTokenRequestHasNoTpotButPassesTpotGoodput) {
  std::vector<RequestOutcome> o = {Ok(0, 0, 4, {0.05}, 0.05)};
  const BenchSummary s = SummarizeBench(o, 1.0, 60, Goodput(std::nullopt, 1, std::nullopt));
  EXPECT_EQ(s.tpot_ms.mean, 0);
  EXPECT_EQ(s.itl_samples, 0);
  EXPECT_DOUBLE_EQ(*s.request_goodput, 1.0);
  EXPECT_DOUBLE_EQ(s.tbt_attainment, 1.0);
}

TEST(BenchMetricsTest, GroupedChunksAreNotChargedAsMissing) {
  // A server that sent 4 tokens in 2 chunks: the extra tokens arrive with the last chunk.
  RequestOutcome o = Ok(0, 0, 4, {0.01, 0.03}, 0.03);
  o.output_tokens = 4;
  o.expected_output_tokens = 4;
  std::vector<RequestOutcome> v = {o};
  const BenchSummary s = SummarizeBench(v, 1.0, 60, {});
  EXPECT_DOUBLE_EQ(s.tbt_attainment, 1.0);
  EXPECT_EQ(s.total_output_tokens, 4);
  EXPECT_NEAR(s.tpot_ms.mean, 20.0 / 3, 1e-9);  // (30 - 10) / (4 - 1)
}

TEST(BenchMetricsTest, EmptyRunIsAllZeros) {
  const BenchSummary s = SummarizeBench({}, 0.0, 60, {});
  EXPECT_EQ(s.completed, 0);
  EXPECT_EQ(s.request_throughput, 0);
  EXPECT_EQ(s.ttft_ms.p99, 0);
  EXPECT_EQ(s.tbt_attainment, 1.0);
}

}  // namespace
}  // namespace orbitflow
