// What one bench request measured, and the run's figures computed from those measurements:
// vLLM's `bench serve` fields (same definitions, so numbers compare across tools) plus
// OrbitFlow's TBT SLO attainment with and without Token Deposit and TPOT attainment, scored by
// metrics/scoring.h exactly as the engine's own runs are.
//
// Definitions (vLLM's), over successful requests only:
//   TTFT = first output chunk - send; E2EL = end of the stream - send;
//   TPOT = (E2EL - TTFT) / (output_tokens - 1), for requests with more than one token;
//   ITL  = gaps between consecutive output chunks, pooled over requests;
//   throughputs = tokens / duration; input tokens are the server's usage.prompt_tokens when
//   reported, else the prompt length sent; output tokens usage.completion_tokens, else the
//   number of output chunks.
//   goodput = successful requests meeting every threshold / duration (TPOT of a one-token
//   request counts as 0, as vLLM has it).
// Latency statistics are in milliseconds; mean, median, std (population), p90, p95, p99
// (numpy's linear percentiles); all 0 when there are no samples.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bench/bench_options.h"

namespace orbitflow {

struct RequestOutcome {
  int64_t index = 0;
  bool success = false;
  std::string error;                  // why it failed (HTTP status and message, transport error)
  double send_s = 0;                  // when it was sent, from the start of the run
  int64_t prompt_tokens = 0;          // as described above
  int64_t output_tokens = 0;          // as described above
  int64_t expected_output_tokens = 0;  // the max_tokens asked for
  std::vector<double> chunk_s;        // arrival of each output chunk, from send
  double latency_s = 0;               // E2EL
  std::string finish_reason;          // as the server named it
};

struct LatencyStats {
  double mean = 0, median = 0, std = 0, p90 = 0, p95 = 0, p99 = 0;
};
LatencyStats LatencyStatsMs(std::vector<double> seconds);

struct BenchSummary {
  int64_t num_requests = 0, completed = 0, failed = 0;
  double duration_s = 0;
  int64_t total_input_tokens = 0, total_output_tokens = 0;
  double request_throughput = 0, output_throughput = 0, total_token_throughput = 0;
  std::optional<double> request_goodput;  // requests/s, with --goodput
  std::optional<double> goodput_fraction;  // share of all requests that were good
  LatencyStats ttft_ms, tpot_ms, itl_ms, e2el_ms;
  // Scored against tbt_slo_ms over every request sent (failed ones are charged for the tokens
  // they never delivered; see metrics/scoring.h).
  double tbt_slo_ms = 0;
  double tbt_attainment = 0, tbt_attainment_deposit = 0, tpot_attainment = 0;
  int64_t itl_samples = 0;
};

// `duration_s`: from the start of the run until the last request ended.
BenchSummary SummarizeBench(std::span<const RequestOutcome> outcomes, double duration_s, double tbt_slo_ms,
                            const GoodputThresholds& goodput);

}  // namespace orbitflow
