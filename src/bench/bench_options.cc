#include "bench/bench_options.h"

#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace orbitflow {
namespace {

// A whole-string decimal number (std::from_chars: no locale, no leading '+' or spaces).
std::optional<double> ParseNumber(std::string_view text) {
  double v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

}  // namespace

StatusOr<BenchEndpoint> ParseBenchEndpoint(std::string_view path) {
  if (path == "/v1/completions") return BenchEndpoint::kCompletions;
  if (path == "/v1/chat/completions") return BenchEndpoint::kChatCompletions;
  return InvalidArgument(fmt::format("--endpoint '{}': expected /v1/completions or /v1/chat/completions", path));
}

std::string_view BenchEndpointPath(BenchEndpoint endpoint) {
  return endpoint == BenchEndpoint::kCompletions ? "/v1/completions" : "/v1/chat/completions";
}

StatusOr<GoodputThresholds> ParseGoodput(std::span<const std::string> items) {
  GoodputThresholds g;
  for (const std::string& item : items) {
    const size_t colon = item.find(':');
    if (colon == std::string::npos) {
      return InvalidArgument(fmt::format("--goodput '{}': expected KEY:MS with KEY ttft, tpot or e2el", item));
    }
    const std::string_view key = std::string_view(item).substr(0, colon);
    const std::optional<double> ms = ParseNumber(std::string_view(item).substr(colon + 1));
    if (!ms || !std::isfinite(*ms) || *ms <= 0) {
      return InvalidArgument(fmt::format("--goodput '{}': the threshold must be a positive number of ms", item));
    }
    std::optional<double>* slot = key == "ttft" ? &g.ttft_ms : key == "tpot" ? &g.tpot_ms
                                : key == "e2el" ? &g.e2el_ms : nullptr;
    if (!slot) return InvalidArgument(fmt::format("--goodput '{}': unknown key '{}' (ttft, tpot, e2el)", item, key));
    if (slot->has_value()) return InvalidArgument(fmt::format("--goodput: '{}' given twice", key));
    *slot = *ms;
  }
  return g;
}

StatusOr<double> ParseRequestRate(std::string_view text) {
  if (text == "inf" || text == "infinity") return std::numeric_limits<double>::infinity();
  const std::optional<double> v = ParseNumber(text);
  if (!v || !(*v > 0) || std::isnan(*v)) {
    return InvalidArgument(fmt::format("--request-rate '{}': expected a positive number of requests/s or 'inf'", text));
  }
  return *v;
}

Status ValidateBenchOptions(const BenchServeOptions& o) {
  if (o.url.empty()) return InvalidArgument("--url is required (e.g. http://127.0.0.1:8000)");
  if (o.trace_path.empty()) {
    if (o.input_len < 1) return InvalidArgument(fmt::format("--input-len must be >= 1, got {}", o.input_len));
    if (o.output_len < 1) return InvalidArgument(fmt::format("--output-len must be >= 1, got {}", o.output_len));
  }
  if (o.num_prompts && *o.num_prompts < 1) {
    return InvalidArgument(fmt::format("--num-prompts must be >= 1, got {}", *o.num_prompts));
  }
  if (o.request_rate && !(*o.request_rate > 0)) {
    return InvalidArgument("--request-rate must be > 0 (or 'inf')");
  }
  if (!std::isfinite(o.burstiness) || o.burstiness <= 0) {
    return InvalidArgument(fmt::format("--burstiness must be a positive number, got {}", o.burstiness));
  }
  if (!std::isfinite(o.tbt_slo_ms) || o.tbt_slo_ms <= 0) {
    return InvalidArgument(fmt::format("--tbt-slo-ms must be a positive number, got {}", o.tbt_slo_ms));
  }
  if (o.max_concurrency && *o.max_concurrency < 1) {
    return InvalidArgument(fmt::format("--max-concurrency must be >= 1, got {}", *o.max_concurrency));
  }
  if (!std::isfinite(o.request_timeout_s) || o.request_timeout_s <= 0) {
    return InvalidArgument("--request-timeout-s must be a positive number");
  }
  return Status::Ok();
}

}  // namespace orbitflow
