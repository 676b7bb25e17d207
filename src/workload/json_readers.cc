// The JSON trace formats: Mooncake JSONL and the OrbitFlow reference trace.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "workload/text_util.h"
#include "workload/trace_readers.h"

namespace orbitflow {
namespace {

using json = nlohmann::json;
using workload_internal::FieldError;
using workload_internal::FieldRef;
using workload_internal::Quote;

// A JSON value shown in an error message, short and printable.
std::string Show(const json& v) {
  return Quote(v.dump(-1, ' ', false, json::error_handler_t::replace));
}

// Parses one JSON text. nlohmann reports syntax errors by exception; it is caught here, so none
// leaves the reader. `first_line` is the line of text[0] in the file.
StatusOr<json> ParseJson(std::string_view text, std::string_view source, int64_t first_line) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    const int64_t line =
        first_line - 1 + workload_internal::LineAtOffset(text, e.byte == 0 ? 0 : e.byte - 1);
    return InvalidArgument(
        fmt::format("{}:{}: invalid JSON ({}); fix the file or pick the right "
                    "--trace-format",
                    source, line, e.what()));
  } catch (const std::exception& e) {
    return InvalidArgument(fmt::format("{}: invalid JSON: {}", source, e.what()));
  }
}

// An integer in [min, max], also accepted as an integral float (e.g. 12.0).
StatusOr<int64_t> JsonInt(const json& v, const FieldRef& where, int64_t min, int64_t max) {
  const std::string expected = min == 1 ? fmt::format("a positive integer (at most {})", max)
                                        : fmt::format("an integer in [{}, {}]", min, max);
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(max) && static_cast<int64_t>(u) >= min) {
      return static_cast<int64_t>(u);
    }
  } else if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i >= min && i <= max) return i;
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    // Range-check before converting: a double out of int64 range is undefined to cast.
    if (std::isfinite(d) && d == std::floor(d) && d >= static_cast<double>(min) &&
        d <= static_cast<double>(max)) {
      return static_cast<int64_t>(d);
    }
  }
  return FieldError(where, fmt::format("expected {}, got {}", expected, Show(v)));
}

StatusOr<double> JsonNonNegative(const json& v, const FieldRef& where) {
  if (v.is_number()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d >= 0.0) return d + 0.0;  // + 0.0 turns -0 into 0
  }
  return FieldError(where, fmt::format("expected a finite non-negative number, got {}", Show(v)));
}

// The member `key` of object `obj`, or an error naming it as missing.
StatusOr<const json*> Member(const json& obj, const char* key, const FieldRef& where) {
  const auto it = obj.find(key);
  if (it == obj.end()) {
    FieldRef w = where;
    w.field = {};
    return FieldError(w, fmt::format("missing field '{}'", key));
  }
  return &*it;
}

// One Mooncake line's object into a request; `timestamp_ms` receives its timestamp.
Status MooncakeRequest(const json& j, const FieldRef& at, WorkloadRequest& r,
                       double& timestamp_ms) {
  if (!j.is_object()) return FieldError(at, fmt::format("expected a JSON object, got {}", Show(j)));
  FieldRef f = at;
  f.field = "timestamp";
  OF_ASSIGN_OR_RETURN(const json* ts, Member(j, "timestamp", f));
  OF_ASSIGN_OR_RETURN(timestamp_ms, JsonNonNegative(*ts, f));
  f.field = "input_length";
  OF_ASSIGN_OR_RETURN(const json* in, Member(j, "input_length", f));
  OF_ASSIGN_OR_RETURN(r.input_tokens, JsonInt(*in, f, 1, kMaxTraceTokens));
  f.field = "output_length";
  OF_ASSIGN_OR_RETURN(const json* out, Member(j, "output_length", f));
  OF_ASSIGN_OR_RETURN(r.output_tokens, JsonInt(*out, f, 1, kMaxTraceTokens));
  const auto ids = j.find("hash_ids");
  if (ids == j.end()) return Status::Ok();
  f.field = "hash_ids";
  if (!ids->is_array()) {
    return FieldError(f, fmt::format("expected an array of block ids, got {}", Show(*ids)));
  }
  r.prefix_hash_ids.reserve(ids->size());
  for (const json& id : *ids) {
    OF_ASSIGN_OR_RETURN(int64_t v, JsonInt(id, f, 0, std::numeric_limits<int64_t>::max()));
    r.prefix_hash_ids.push_back(v);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Workload> ParseMooncakeJsonl(std::string_view text, std::string_view source) {
  Workload w;
  w.name = workload_internal::FileStem(source);
  w.source = std::string(source);
  w.unit = ArrivalUnit::kSeconds;
  std::vector<double> stamps;
  workload_internal::LineCursor cursor(text);
  std::string_view line;
  while (cursor.Next(line)) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    OF_ASSIGN_OR_RETURN(json j, ParseJson(line, source, cursor.line_number()));
    WorkloadRequest r;
    double ms = 0.0;
    OF_RETURN_IF_ERROR(MooncakeRequest(j, {source, cursor.line_number(), {}, {}}, r, ms));
    stamps.push_back(ms);
    w.requests.push_back(std::move(r));
  }
  if (w.requests.empty()) {
    return InvalidArgument(
        fmt::format("{}: no requests; expected one JSON object per line", source));
  }
  const double first = *std::min_element(stamps.begin(), stamps.end());
  for (size_t i = 0; i < stamps.size(); ++i) {
    w.requests[i].arrival = (stamps[i] - first) / 1000.0;
  }
  SortAndIndex(w);
  return w;
}

namespace {

// `LognormalArrival(lambda=L,cv=C,...)` -> L and C, when the pattern has that form.
void ParseArrivalPattern(TraceHeader& h) {
  const std::string_view p = h.arrival_pattern;
  if (!p.starts_with("LognormalArrival(")) return;
  auto number_after = [&](std::string_view key) -> std::optional<double> {
    const size_t at = p.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    double v = 0.0;
    const char* begin = p.data() + at + key.size();
    const auto [ptr, ec] = std::from_chars(begin, p.data() + p.size(), v);
    if (ec != std::errc() || ptr == begin || !std::isfinite(v)) return std::nullopt;
    return v;
  };
  h.arrival_lambda = number_after("lambda=");
  h.arrival_cv = number_after("cv=");
}

Status ParseHeader(const json& top, std::string_view source, TraceHeader& h) {
  auto int_key = [&](const char* key, int64_t min,
                     int64_t max) -> StatusOr<std::optional<int64_t>> {
    const auto it = top.find(key);
    if (it == top.end() || it->is_null()) return std::optional<int64_t>();
    OF_ASSIGN_OR_RETURN(int64_t v, JsonInt(*it, {source, 0, {}, key}, min, max));
    return std::optional<int64_t>(v);
  };
  OF_ASSIGN_OR_RETURN(auto batch, int_key("batch_size", 1, 1 << 20));
  if (batch) h.batch_size = static_cast<int>(*batch);
  OF_ASSIGN_OR_RETURN(h.max_model_len, int_key("max_model_len", 1, kMaxTraceTokens));
  OF_ASSIGN_OR_RETURN(h.device_blocks_per_layer,
                      int_key("num_gpu_blocks_override", 0, kMaxTraceTokens));
  OF_ASSIGN_OR_RETURN(h.peak_batch_blocks, int_key("peak_batch_blocks", 0, kMaxTraceTokens));
  const auto pattern = top.find("arrival_pattern");
  if (pattern != top.end()) {
    if (pattern->is_string()) {
      h.arrival_pattern = pattern->get<std::string>();
      ParseArrivalPattern(h);
    } else {
      // The profiling trace stores an object holding a Python repr; keep it as text.
      h.arrival_pattern = pattern->dump(-1, ' ', false, json::error_handler_t::replace);
    }
  }
  return Status::Ok();
}

// "request_12" -> 12.
std::optional<int64_t> RequestNumber(std::string_view key) {
  constexpr std::string_view kPrefix = "request_";
  if (!key.starts_with(kPrefix) || key.size() == kPrefix.size()) return std::nullopt;
  key.remove_prefix(kPrefix.size());
  int64_t n = 0;
  const auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), n);
  if (ec != std::errc() || ptr != key.data() + key.size() || n < 0) return std::nullopt;
  return n;
}

Status OrbitflowRequest(const json& v, const FieldRef& at, WorkloadRequest& r) {
  if (!v.is_object()) return FieldError(at, fmt::format("expected a JSON object, got {}", Show(v)));
  FieldRef f = at;
  f.field = "input_length";
  OF_ASSIGN_OR_RETURN(const json* in, Member(v, "input_length", f));
  OF_ASSIGN_OR_RETURN(r.input_tokens, JsonInt(*in, f, 1, kMaxTraceTokens));
  f.field = "output_length";
  OF_ASSIGN_OR_RETURN(const json* out, Member(v, "output_length", f));
  OF_ASSIGN_OR_RETURN(r.output_tokens, JsonInt(*out, f, 1, kMaxTraceTokens));
  f.field = "arrival_time";
  OF_ASSIGN_OR_RETURN(const json* arrival, Member(v, "arrival_time", f));
  OF_ASSIGN_OR_RETURN(r.arrival, JsonNonNegative(*arrival, f));
  const auto category = v.find("category");
  if (category != v.end()) {
    f.field = "category";
    if (!category->is_string()) {
      return FieldError(f, fmt::format("expected a string, got {}", Show(*category)));
    }
    r.category = category->get<std::string>();
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Workload> ParseOrbitflowJson(std::string_view text, std::string_view source) {
  OF_ASSIGN_OR_RETURN(json top, ParseJson(text, source, 1));
  if (!top.is_object()) {
    return InvalidArgument(
        fmt::format("{}: expected a JSON object with 'requests' (OrbitFlow trace format), got {}",
                    source, Show(top)));
  }
  Workload w;
  w.name = workload_internal::FileStem(source);
  w.source = std::string(source);
  w.unit = ArrivalUnit::kSteps;
  OF_RETURN_IF_ERROR(ParseHeader(top, source, w.header));
  const auto requests = top.find("requests");
  if (requests == top.end() || !requests->is_object() || requests->empty()) {
    return InvalidArgument(fmt::format(
        "{}: expected a non-empty object 'requests' of \"request_N\": {{...}} entries", source));
  }
  std::vector<std::pair<int64_t, WorkloadRequest>> numbered;
  numbered.reserve(requests->size());
  for (const auto& [key, value] : requests->items()) {
    const std::string item = fmt::format("request {}", Quote(key));
    FieldRef at{source, 0, item, {}};
    WorkloadRequest r;
    const std::optional<int64_t> n = RequestNumber(key);
    Status st = n ? OrbitflowRequest(value, at, r)
                  : FieldError(at, "expected a key of the form request_N with N >= 0");
    if (!st.ok()) {
      // Only on error (it scans the text): name the line of the request's key when found.
      at.line = workload_internal::LineOf(text, fmt::format("\"{}\"", key));
      return n ? OrbitflowRequest(value, at, r)
               : FieldError(at, "expected a key of the form request_N with N >= 0");
    }
    numbered.emplace_back(*n, std::move(r));
  }
  std::sort(numbered.begin(), numbered.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < numbered.size(); ++i) {
    if (i > 0 && numbered[i].first == numbered[i - 1].first) {
      return InvalidArgument(
          fmt::format("{}: two keys name request_{}", source, numbered[i].first));
    }
    if (i > 0 && numbered[i].second.arrival < numbered[i - 1].second.arrival) {
      return InvalidArgument(fmt::format(
          "{}: request_{} arrives at {} before request_{} at {}; arrival_time must not decrease "
          "with N",
          source, numbered[i].first, numbered[i].second.arrival, numbered[i - 1].first,
          numbered[i - 1].second.arrival));
    }
    numbered[i].second.index = static_cast<int64_t>(i);
    w.requests.push_back(std::move(numbered[i].second));
  }
  return w;
}

}  // namespace orbitflow
