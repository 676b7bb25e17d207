#include "workload/workload.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "workload/text_util.h"
#include "workload/trace_readers.h"

namespace orbitflow {

std::string_view ArrivalUnitName(ArrivalUnit unit) {
  return unit == ArrivalUnit::kSteps ? "steps" : "seconds";
}

Status ValidateTraceOptions(const TraceOptions& options) {
  if (!std::isfinite(options.rate_scale) || options.rate_scale <= 0.0) {
    return InvalidArgument(
        fmt::format("rate_scale must be finite and > 0, got {}", options.rate_scale));
  }
  if (options.max_requests && *options.max_requests < 1) {
    return InvalidArgument(fmt::format("max_requests must be >= 1, got {}", *options.max_requests));
  }
  if (options.max_context && *options.max_context < 2) {
    return InvalidArgument(
        fmt::format("max_context must be >= 2 tokens (one prompt and one output token), got {}",
                    *options.max_context));
  }
  return Status::Ok();
}

Status SelectRequests(const TraceOptions& options, Workload& workload) {
  OF_RETURN_IF_ERROR(ValidateTraceOptions(options));
  const size_t before = workload.requests.size();
  if (options.max_context) {
    const int64_t limit = *options.max_context;
    std::erase_if(workload.requests, [limit](const WorkloadRequest& r) {
      return r.input_tokens + r.output_tokens > limit;
    });
    if (workload.requests.empty()) {
      return InvalidArgument(fmt::format(
          "{}: all {} requests need more than max_context = {} tokens (input + output); "
          "raise max_context",
          workload.source, before, limit));
    }
  }
  if (options.max_requests &&
      static_cast<int64_t>(workload.requests.size()) > *options.max_requests) {
    workload.requests.resize(static_cast<size_t>(*options.max_requests));
  }
  for (size_t i = 0; i < workload.requests.size(); ++i) {
    workload.requests[i].index = static_cast<int64_t>(i);
  }
  return Status::Ok();
}

namespace {
Status CheckArrivalsFinite(const Workload& workload, std::string_view what) {
  for (const WorkloadRequest& r : workload.requests) {
    if (!std::isfinite(r.arrival)) {
      return InvalidArgument(
          fmt::format("{}: {} makes arrival times overflow", workload.source, what));
    }
  }
  return Status::Ok();
}
}  // namespace

Status ScaleArrivals(double rate_scale, Workload& workload) {
  if (rate_scale == 1.0) return Status::Ok();  // keep arrivals bit-identical to the file
  for (WorkloadRequest& r : workload.requests) r.arrival /= rate_scale;
  return CheckArrivalsFinite(workload, fmt::format("rate_scale {}", rate_scale));
}

Status StretchArrivals(double factor, Workload& workload) {
  if (factor == 1.0) return Status::Ok();
  for (WorkloadRequest& r : workload.requests) r.arrival *= factor;
  return CheckArrivalsFinite(workload, fmt::format("scaling arrivals by {}", factor));
}

void SortAndIndex(Workload& workload) {
  std::stable_sort(
      workload.requests.begin(), workload.requests.end(),
      [](const WorkloadRequest& a, const WorkloadRequest& b) { return a.arrival < b.arrival; });
  for (size_t i = 0; i < workload.requests.size(); ++i) {
    workload.requests[i].index = static_cast<int64_t>(i);
  }
}

Status ValidateWorkload(const Workload& workload) {
  if (workload.requests.empty()) {
    return InvalidArgument(fmt::format("workload '{}' has no requests", workload.name));
  }
  double previous = 0.0;
  for (size_t i = 0; i < workload.requests.size(); ++i) {
    const WorkloadRequest& r = workload.requests[i];
    auto bad = [&](std::string_view what) {
      return Internal(fmt::format("workload '{}' request {}: {}", workload.name, i, what));
    };
    if (r.index != static_cast<int64_t>(i)) return bad("index is not its position");
    if (!std::isfinite(r.arrival) || r.arrival < 0.0) return bad("arrival not finite and >= 0");
    if (i > 0 && r.arrival < previous) return bad("arrival before the previous request's");
    if (r.input_tokens < 1 || r.input_tokens > kMaxTraceTokens) return bad("input_tokens");
    if (r.output_tokens < 1 || r.output_tokens > kMaxTraceTokens) return bad("output_tokens");
    previous = r.arrival;
  }
  return Status::Ok();
}

StatusOr<TraceFormat> ParseTraceFormat(std::string_view name) {
  if (name == "azure") return TraceFormat::kAzure;
  if (name == "mooncake") return TraceFormat::kMooncake;
  if (name == "lengths") return TraceFormat::kLengths;
  if (name == "orbitflow") return TraceFormat::kOrbitflow;
  return InvalidArgument(
      fmt::format("unknown trace format '{}'; use azure, mooncake, lengths or orbitflow", name));
}

std::string_view TraceFormatName(TraceFormat format) {
  switch (format) {
    case TraceFormat::kAzure:
      return "azure";
    case TraceFormat::kMooncake:
      return "mooncake";
    case TraceFormat::kLengths:
      return "lengths";
    case TraceFormat::kOrbitflow:
      return "orbitflow";
  }
  return "unknown";
}

StatusOr<TraceFormat> GuessTraceFormat(std::string_view path, std::string_view content) {
  if (path.ends_with(".jsonl")) return TraceFormat::kMooncake;
  if (path.ends_with(".json")) return TraceFormat::kOrbitflow;
  workload_internal::LineCursor cursor(content);
  std::string_view first;
  while (cursor.Next(first) && first.find_first_not_of(" \t") == std::string_view::npos) {
  }
  if (first.find("TIMESTAMP") != std::string_view::npos) return TraceFormat::kAzure;
  if (first.find("num_prefill_tokens") != std::string_view::npos) return TraceFormat::kLengths;
  const size_t brace = first.find_first_not_of(" \t\xEF\xBB\xBF");
  if (brace != std::string_view::npos && first[brace] == '{') {
    // A whole object on the first line with a timestamp is JSONL; otherwise one JSON document.
    if (first.find("\"timestamp\"") != std::string_view::npos) return TraceFormat::kMooncake;
    return TraceFormat::kOrbitflow;
  }
  return InvalidArgument(fmt::format(
      "{}: cannot tell the trace format from its name or first line {}; pass the format "
      "(azure, mooncake, lengths or orbitflow)",
      path, workload_internal::Quote(first)));
}

StatusOr<Workload> ParseTrace(std::string_view text, std::string_view source, TraceFormat format,
                              const TraceOptions& options, const ArrivalProcessOptions& arrivals) {
  OF_RETURN_IF_ERROR(ValidateTraceOptions(options));
  StatusOr<Workload> parsed = InvalidArgument("unknown trace format");
  switch (format) {
    case TraceFormat::kAzure:
      parsed = ParseAzureCsv(text, source);
      break;
    case TraceFormat::kMooncake:
      parsed = ParseMooncakeJsonl(text, source);
      break;
    case TraceFormat::kLengths:
      parsed = ParseLengthsCsv(text, source);
      break;
    case TraceFormat::kOrbitflow:
      parsed = ParseOrbitflowJson(text, source);
      break;
  }
  if (!parsed.ok()) return parsed.status();
  Workload w = std::move(parsed).value();
  OF_RETURN_IF_ERROR(SelectRequests(options, w));
  if (format == TraceFormat::kLengths) {
    // Lengths files carry no times: draw them for the requests kept, in file order.
    OF_ASSIGN_OR_RETURN(std::vector<double> times,
                        GenerateArrivals(static_cast<int64_t>(w.requests.size()), arrivals));
    for (size_t i = 0; i < times.size(); ++i) w.requests[i].arrival = times[i];
    w.header.arrival_pattern =
        fmt::format("{}(rate_per_s={},cv={},seed={})", ArrivalKindName(arrivals.kind),
                    arrivals.rate_per_s, arrivals.cv, arrivals.seed);
  }
  OF_RETURN_IF_ERROR(ScaleArrivals(options.rate_scale, w));
  if (options.rate_scale != 1.0) {
    w.source += fmt::format(" (arrival gaps divided by {})", options.rate_scale);
  }
  return w;
}

StatusOr<Workload> ReadTrace(const std::string& path, std::optional<TraceFormat> format,
                             const TraceOptions& options, const ArrivalProcessOptions& arrivals) {
  OF_ASSIGN_OR_RETURN(std::string text, workload_internal::ReadFileToString(path));
  if (!format) {
    OF_ASSIGN_OR_RETURN(TraceFormat guessed, GuessTraceFormat(path, text));
    format = guessed;
  }
  return ParseTrace(text, path, *format, options, arrivals);
}

}  // namespace orbitflow
