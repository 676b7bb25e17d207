#include "bench/bench_report.h"

#include <cmath>
#include <map>

#include <fmt/format.h>

namespace orbitflow {
namespace {

using json = nlohmann::json;

// The latency sections in report order: JSON key stem, table heading, table label.
struct LatencySection {
  const char* key;
  const char* heading;
  const char* label;
  LatencyStats BenchSummary::*stats;
};
constexpr LatencySection kSections[] = {
    {"ttft", "Time to First Token", "TTFT", &BenchSummary::ttft_ms},
    {"tpot", "Time per Output Token (excl. 1st token)", "TPOT", &BenchSummary::tpot_ms},
    {"itl", "Inter-token Latency", "ITL", &BenchSummary::itl_ms},
    {"e2el", "End-to-end Latency", "E2EL", &BenchSummary::e2el_ms},
};

std::string Heading(const std::string& title, char fill) {
  const int width = 50;
  const int pad = std::max(0, width - static_cast<int>(title.size()) - 2);
  const std::string t = title.empty() ? std::string(width, fill)
                                      : std::string(pad / 2, fill) + " " + title + " " + std::string(pad - pad / 2, fill);
  return t + "\n";
}

std::string Row(const std::string& label, const std::string& value) { return fmt::format("{:<40}{}\n", label, value); }
std::string Num(double v) { return fmt::format("{:.2f}", v); }
std::string Pct(double v) { return fmt::format("{:.2f}%", 100.0 * v); }

// As vLLM writes it: a number or "inf"; "trace" when a trace's own arrival times were replayed.
json Rate(const BenchServeOptions& o) {
  if (!o.request_rate) return o.trace_path.empty() ? json("inf") : json("trace");
  if (std::isinf(*o.request_rate)) return "inf";
  return *o.request_rate;
}

}  // namespace

std::string FormatBenchTable(const BenchRun& run, const BenchServeOptions& o) {
  const BenchSummary& s = run.summary;
  std::string t = Heading("Serving Benchmark Result", '=');
  t += Row("Successful requests:", std::to_string(s.completed));
  t += Row("Failed requests:", std::to_string(s.failed));
  if (o.max_concurrency) t += Row("Maximum request concurrency:", std::to_string(*o.max_concurrency));
  t += Row("Benchmark duration (s):", Num(s.duration_s));
  t += Row("Total input tokens:", std::to_string(s.total_input_tokens));
  t += Row("Total generated tokens:", std::to_string(s.total_output_tokens));
  t += Row("Request throughput (req/s):", Num(s.request_throughput));
  if (s.request_goodput) t += Row("Request goodput (req/s):", Num(*s.request_goodput));
  t += Row("Output token throughput (tok/s):", Num(s.output_throughput));
  t += Row("Total Token throughput (tok/s):", Num(s.total_token_throughput));
  for (const LatencySection& sec : kSections) {
    const LatencyStats& l = s.*sec.stats;
    t += Heading(sec.heading, '-');
    t += Row(fmt::format("Mean {} (ms):", sec.label), Num(l.mean));
    t += Row(fmt::format("Median {} (ms):", sec.label), Num(l.median));
    t += Row(fmt::format("P90 {} (ms):", sec.label), Num(l.p90));
    t += Row(fmt::format("P95 {} (ms):", sec.label), Num(l.p95));
    t += Row(fmt::format("P99 {} (ms):", sec.label), Num(l.p99));
  }
  t += Heading(fmt::format("SLO (TBT {:g} ms)", s.tbt_slo_ms), '-');
  t += Row("TBT SLO attainment:", Pct(s.tbt_attainment));
  t += Row("TBT SLO attainment (Token Deposit):", Pct(s.tbt_attainment_deposit));
  t += Row("TPOT SLO attainment:", Pct(s.tpot_attainment));
  t += Heading("", '=');
  return t;
}

json BenchRunToJson(const BenchRun& run, const BenchServeOptions& o) {
  const BenchSummary& s = run.summary;
  json j{{"backend", o.endpoint == BenchEndpoint::kCompletions ? "openai" : "openai-chat"},
         {"url", run.target.url},
         {"endpoint", std::string(BenchEndpointPath(o.endpoint))},
         {"model_id", run.server.model},
         {"orbitflow_server", run.server.orbitflow},
         {"dataset", run.source},
         {"dropped_too_long", run.dropped_too_long},
         {"num_prompts", s.num_requests},
         {"request_rate", Rate(o)},
         {"burstiness", o.burstiness},
         {"max_concurrency", o.max_concurrency ? json(*o.max_concurrency) : json(nullptr)},
         {"seed", o.seed},
         {"completed", s.completed},
         {"failed", s.failed},
         {"duration_s", s.duration_s},
         {"total_input_tokens", s.total_input_tokens},
         {"total_output_tokens", s.total_output_tokens},
         {"request_throughput", s.request_throughput},
         {"request_goodput", s.request_goodput ? json(*s.request_goodput) : json(nullptr)},
         {"request_goodput_fraction", s.goodput_fraction ? json(*s.goodput_fraction) : json(nullptr)},
         {"output_throughput", s.output_throughput},
         {"total_token_throughput", s.total_token_throughput},
         {"max_concurrent_requests", run.load.max_concurrent},
         {"tbt_slo_ms", s.tbt_slo_ms},
         {"tbt_attainment", s.tbt_attainment},
         {"tbt_attainment_deposit", s.tbt_attainment_deposit},
         {"tpot_attainment", s.tpot_attainment}};
  if (o.goodput.any()) {
    json g = json::object();
    if (o.goodput.ttft_ms) g["ttft"] = *o.goodput.ttft_ms;
    if (o.goodput.tpot_ms) g["tpot"] = *o.goodput.tpot_ms;
    if (o.goodput.e2el_ms) g["e2el"] = *o.goodput.e2el_ms;
    j["goodput"] = g;
  }
  for (const LatencySection& sec : kSections) {
    const LatencyStats& l = s.*sec.stats;
    const std::map<std::string, double> fields = {{"mean", l.mean}, {"median", l.median}, {"std", l.std},
                                                  {"p90", l.p90},   {"p95", l.p95},       {"p99", l.p99}};
    for (const auto& [stat, value] : fields) j[fmt::format("{}_{}_ms", stat, sec.key)] = value;
  }
  json input_lens = json::array(), output_lens = json::array(), sends = json::array(), ttfts = json::array(),
       itls = json::array(), errors = json::array();
  for (const RequestOutcome& r : run.load.outcomes) {
    input_lens.push_back(r.prompt_tokens);
    output_lens.push_back(r.success ? r.output_tokens : 0);
    sends.push_back(r.send_s);
    ttfts.push_back(r.chunk_s.empty() ? 0.0 : r.chunk_s.front());
    json gaps = json::array();
    for (size_t i = 1; i < r.chunk_s.size(); ++i) gaps.push_back(r.chunk_s[i] - r.chunk_s[i - 1]);
    itls.push_back(std::move(gaps));
    errors.push_back(r.error);
  }
  j["input_lens"] = std::move(input_lens);
  j["output_lens"] = std::move(output_lens);
  j["send_times"] = std::move(sends);
  j["ttfts"] = std::move(ttfts);
  j["itls"] = std::move(itls);
  j["errors"] = std::move(errors);
  return j;
}

}  // namespace orbitflow
