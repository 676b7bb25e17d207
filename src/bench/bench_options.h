// What `orbitflow bench serve` runs: one typed options struct, validated once (ValidateBenchOptions)
// before anything touches the network, plus parsers for the flag values that are not plain
// numbers (endpoint, request rate, goodput thresholds).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/progress_bar.h"
#include "orbitflow/status.h"
#include "workload/workload.h"

namespace orbitflow {

enum class BenchEndpoint { kCompletions, kChatCompletions };

// "/v1/completions" | "/v1/chat/completions".
StatusOr<BenchEndpoint> ParseBenchEndpoint(std::string_view path);
std::string_view BenchEndpointPath(BenchEndpoint endpoint);

// vLLM's --goodput: a request is good when it meets every threshold given (DistServe).
struct GoodputThresholds {
  std::optional<double> ttft_ms;
  std::optional<double> tpot_ms;
  std::optional<double> e2el_ms;
  bool any() const { return ttft_ms || tpot_ms || e2el_ms; }
};

// Parses "ttft:MS", "tpot:MS", "e2el:MS" items (each key at most once, MS > 0).
StatusOr<GoodputThresholds> ParseGoodput(std::span<const std::string> items);

// A request rate in requests per second: a positive number or "inf" (every request at once).
StatusOr<double> ParseRequestRate(std::string_view text);

struct BenchServeOptions {
  std::string url = "http://127.0.0.1:8000";  // scheme://host[:port][/prefix]
  BenchEndpoint endpoint = BenchEndpoint::kCompletions;
  std::string model;    // empty: the first model the server lists
  std::string api_key;  // sent as "Authorization: Bearer <key>" when set

  // The workload: a trace file, or (trace_path empty) vLLM's random dataset.
  std::string trace_path;
  std::optional<TraceFormat> trace_format;  // unset: guessed from the file
  int64_t input_len = 1024;                 // random dataset: prompt tokens per request
  int64_t output_len = 128;                 // random dataset: output tokens per request
  // Requests to send. Unset: 1000 for the random dataset (vLLM's default), the whole trace.
  std::optional<int64_t> num_prompts;
  // Arrivals in requests/s (infinity: all at once). Unset: infinity for the random dataset; a
  // trace with arrival times in seconds replays them unless this is set.
  std::optional<double> request_rate;
  // vLLM's burstiness: gamma-distributed gaps with shape B (CV = 1/sqrt(B)); 1 is Poisson.
  double burstiness = 1.0;
  uint64_t seed = 0;

  double tbt_slo_ms = 100;  // per-token SLO the attainment figures score against
  GoodputThresholds goodput;
  bool paced = false;  // ask an OrbitFlow server for paced streaming (Token Deposit)
  std::optional<int> max_concurrency;  // unset: no limit beyond kMaxInFlight
  double request_timeout_s = 600;      // longest silence on one stream before it fails
  ProgressBarOptions::Mode progress = ProgressBarOptions::Mode::kAuto;
};

// The client holds one thread per request in flight, so without --max-concurrency at most this
// many requests are outstanding; later arrivals wait for a free slot.
inline constexpr int kMaxInFlight = 1024;

// Checks every field; the message names the flag to fix.
Status ValidateBenchOptions(const BenchServeOptions& options);

}  // namespace orbitflow
