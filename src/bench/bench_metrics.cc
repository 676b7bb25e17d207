#include "bench/bench_metrics.h"

#include <algorithm>
#include <array>

#include "metrics/percentile.h"
#include "metrics/request_record.h"
#include "metrics/scoring.h"

namespace orbitflow {
namespace {

double PerSecond(double count, double duration_s) { return duration_s > 0 ? count / duration_s : 0.0; }

double Ttft(const RequestOutcome& o) { return o.chunk_s.empty() ? o.latency_s : o.chunk_s.front(); }

// vLLM's TPOT; 0 for a request of one token (as vLLM's goodput counts it).
double Tpot(const RequestOutcome& o) {
  return o.output_tokens > 1 ? (o.latency_s - Ttft(o)) / static_cast<double>(o.output_tokens - 1) : 0.0;
}

bool IsGood(const RequestOutcome& o, const GoodputThresholds& g) {
  auto meets = [](const std::optional<double>& ms, double seconds) { return !ms || seconds * 1e3 <= *ms; };
  return meets(g.ttft_ms, Ttft(o)) && meets(g.tpot_ms, Tpot(o)) && meets(g.e2el_ms, o.latency_s);
}

// The request as the engine's scorer sees it. Token times are the chunk times; a server that
// groups several tokens into one chunk delivers the extra tokens with its last chunk.
RequestRecord ToRecord(const RequestOutcome& o, double tbt_slo_ms) {
  RequestRecord r;
  r.id = RequestId(o.index);
  r.prompt_tokens = o.prompt_tokens;
  r.expected_output_tokens = o.expected_output_tokens;
  r.slo = Seconds(tbt_slo_ms / 1e3);
  r.arrival = Seconds(o.send_s);
  const size_t tokens = static_cast<size_t>(std::max<int64_t>(o.output_tokens, 0));
  for (size_t i = 0; i < o.chunk_s.size() && i < tokens; ++i) r.token_times.push_back(Seconds(o.send_s + o.chunk_s[i]));
  while (!r.token_times.empty() && r.token_times.size() < tokens) r.token_times.push_back(r.token_times.back());
  if (!r.token_times.empty()) r.first_token = r.token_times.front();
  if (o.success) {
    r.finished = Seconds(o.send_s + o.latency_s);
    r.reason = o.finish_reason == "stop" ? FinishReason::kStop
             : o.finish_reason == "length" || o.output_tokens >= o.expected_output_tokens ? FinishReason::kLength
             : FinishReason::kStop;
  } else {
    r.reason = FinishReason::kFailed;
  }
  return r;
}

}  // namespace

LatencyStats LatencyStatsMs(std::vector<double> seconds) {
  LatencyStats s;
  if (seconds.empty()) return s;
  for (double& v : seconds) v *= 1e3;
  s.mean = Mean(seconds);
  s.std = StdDev(seconds);
  static constexpr std::array<double, 4> kPs = {50, 90, 95, 99};
  const std::vector<double> q = Percentiles(std::move(seconds), kPs);
  s.median = q[0];
  s.p90 = q[1];
  s.p95 = q[2];
  s.p99 = q[3];
  return s;
}

BenchSummary SummarizeBench(std::span<const RequestOutcome> outcomes, double duration_s, double tbt_slo_ms,
                            const GoodputThresholds& goodput) {
  BenchSummary s;
  s.num_requests = static_cast<int64_t>(outcomes.size());
  s.duration_s = duration_s;
  s.tbt_slo_ms = tbt_slo_ms;
  std::vector<double> ttft, tpot, itl, e2el;
  std::vector<RequestRecord> records;
  records.reserve(outcomes.size());
  int64_t good = 0;
  for (const RequestOutcome& o : outcomes) {
    records.push_back(ToRecord(o, tbt_slo_ms));
    if (!o.success) {
      ++s.failed;
      continue;
    }
    ++s.completed;
    s.total_input_tokens += o.prompt_tokens;
    s.total_output_tokens += o.output_tokens;
    ttft.push_back(Ttft(o));
    if (o.output_tokens > 1) tpot.push_back(Tpot(o));
    for (size_t i = 1; i < o.chunk_s.size(); ++i) itl.push_back(o.chunk_s[i] - o.chunk_s[i - 1]);
    e2el.push_back(o.latency_s);
    good += IsGood(o, goodput);
  }
  s.request_throughput = PerSecond(static_cast<double>(s.completed), duration_s);
  s.output_throughput = PerSecond(static_cast<double>(s.total_output_tokens), duration_s);
  s.total_token_throughput = PerSecond(static_cast<double>(s.total_input_tokens + s.total_output_tokens), duration_s);
  if (goodput.any()) {
    s.request_goodput = PerSecond(static_cast<double>(good), duration_s);
    s.goodput_fraction = s.num_requests > 0 ? static_cast<double>(good) / static_cast<double>(s.num_requests) : 0.0;
  }
  s.itl_samples = static_cast<int64_t>(itl.size());
  s.ttft_ms = LatencyStatsMs(std::move(ttft));
  s.tpot_ms = LatencyStatsMs(std::move(tpot));
  s.itl_ms = LatencyStatsMs(std::move(itl));
  s.e2el_ms = LatencyStatsMs(std::move(e2el));
  const SloSummary slo = Score(records, {});
  s.tbt_attainment = slo.tbt_attainment;
  s.tbt_attainment_deposit = slo.tbt_attainment_deposit;
  s.tpot_attainment = slo.tpot_attainment;
  return s;
}

}  // namespace orbitflow
