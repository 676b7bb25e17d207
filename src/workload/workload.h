// Workloads: the requests a run replays (arrival time, prompt and output lengths), read from a
// trace file, built from a length file plus a synthetic arrival process, or generated.
//
// Every reader returns StatusOr<Workload>; malformed input gives an error naming the file, the
// line (or request) and the field, never a crash. Readers for each format are in
// workload/trace_readers.h, the synthetic generator in workload/generator.h and the named,
// built-in workloads in workload/named_workloads.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "orbitflow/status.h"
#include "orbitflow/types.h"
#include "workload/arrival_process.h"

namespace orbitflow {

// What `WorkloadRequest::arrival` counts. The OrbitFlow reference traces count engine decode
// steps (scheduler iterations), not seconds; the engine must replay them on its step counter.
enum class ArrivalUnit { kSeconds, kSteps };
std::string_view ArrivalUnitName(ArrivalUnit unit);  // "seconds" | "steps"

// The largest token count a reader accepts for one request: far above any real context, and
// small enough that sums of a few counts never overflow int64.
inline constexpr int64_t kMaxTraceTokens = 1'000'000'000;

struct WorkloadRequest {
  int64_t index = 0;           // position in the workload, 0..n-1 in arrival order
  double arrival = 0.0;        // in the workload's ArrivalUnit, from the trace's time origin
  int64_t input_tokens = 0;    // prompt length, >= 1
  int64_t output_tokens = 0;   // tokens to generate, >= 1
  std::optional<Seconds> slo;  // per-request TBT SLO when the source gives one
  std::string category;        // the reference generator's category, or empty
  // Mooncake `hash_ids`: ids of the prompt's 512-token prefix blocks (equal ids = a shareable
  // KV prefix). Empty for other formats.
  std::vector<int64_t> prefix_hash_ids;
};

// Engine settings recorded in a trace file's header (only the OrbitFlow format has them).
struct TraceHeader {
  std::optional<int> batch_size;
  std::optional<int64_t> max_model_len;
  std::optional<int64_t> device_blocks_per_layer;  // `num_gpu_blocks_override`
  std::optional<int64_t> peak_batch_blocks;
  std::string arrival_pattern;  // as written; an object pattern is kept as compact JSON
  // Parsed from `LognormalArrival(lambda=...,cv=...,...)` when the pattern has that form.
  std::optional<double> arrival_lambda;
  std::optional<double> arrival_cv;
};

struct Workload {
  std::string name;    // file stem or named workload
  std::string source;  // where it came from and what was done to it, for reports
  ArrivalUnit unit = ArrivalUnit::kSeconds;
  std::vector<WorkloadRequest> requests;  // sorted by arrival (stable), index 0..n-1
  TraceHeader header;
};

// Options every file trace accepts, applied after parsing in this order:
//   1. max_context: requests with input_tokens + output_tokens > max_context are DROPPED (not
//      clamped: clamping would pile requests up at the limit and change the length
//      distribution; vLLM likewise rejects a request whose prompt plus max_tokens exceeds
//      max_model_len). The rest keep their arrival times.
//   2. max_requests: keep the first N requests in arrival order.
//   3. rate_scale: every arrival time (the gaps from the time origin) is divided by it, so 2.0
//      means twice the request rate.
// For length-only traces, arrivals are drawn after steps 1-2, so the process keeps its rate.
struct TraceOptions {
  double rate_scale = 1.0;
  std::optional<int64_t> max_requests;
  std::optional<int64_t> max_context;
};

// Checks the option values (rate_scale finite and > 0, max_requests >= 1, max_context >= 2).
Status ValidateTraceOptions(const TraceOptions& options);

// Applies steps 1-2 above and renumbers `index`. Fails if nothing is left.
Status SelectRequests(const TraceOptions& options, Workload& workload);
// Divides every arrival by `rate_scale` (step 3); fails if that overflows a double.
// REQUIRES: rate_scale finite and > 0.
Status ScaleArrivals(double rate_scale, Workload& workload);
// Multiplies every arrival by `factor`; fails if that overflows. REQUIRES: factor finite, > 0.
Status StretchArrivals(double factor, Workload& workload);

// Stable-sorts requests by arrival and sets index = position.
void SortAndIndex(Workload& workload);

// Checks the Workload invariants: non-empty, index 0..n-1, arrivals finite, >= 0 and
// non-decreasing, token counts in [1, kMaxTraceTokens].
Status ValidateWorkload(const Workload& workload);

enum class TraceFormat { kAzure, kMooncake, kLengths, kOrbitflow };

// "azure" | "mooncake" | "lengths" | "orbitflow".
StatusOr<TraceFormat> ParseTraceFormat(std::string_view name);
std::string_view TraceFormatName(TraceFormat format);

// Guesses the format from the file name's extension (.jsonl -> mooncake, .json -> orbitflow) and,
// for anything else, from the content (a CSV header naming TIMESTAMP or num_prefill_tokens, a
// first line that is a JSON object with `timestamp`, or a JSON object with `requests`).
StatusOr<TraceFormat> GuessTraceFormat(std::string_view path, std::string_view content);

// Parses trace text already in memory. `source` names it in error messages (usually the path).
// `arrivals` is used only by kLengths, whose files carry no arrival times.
StatusOr<Workload> ParseTrace(std::string_view text, std::string_view source, TraceFormat format,
                              const TraceOptions& options = {},
                              const ArrivalProcessOptions& arrivals = {});

// Reads a trace file; guesses the format when `format` is empty. A missing file is NotFound.
StatusOr<Workload> ReadTrace(const std::string& path, std::optional<TraceFormat> format,
                             const TraceOptions& options = {},
                             const ArrivalProcessOptions& arrivals = {});

}  // namespace orbitflow
