#include "workload/generator.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "workload/arrival_process.h"

namespace orbitflow {
namespace {

// Parses "<a>-<b>" at the front of `s` (after `prefix`), advancing s past it.
bool ParseRange(std::string_view& s, std::string_view prefix, int64_t& lo, int64_t& hi) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  const char* end = s.data() + s.size();
  auto [p1, e1] = std::from_chars(s.data(), end, lo);
  if (e1 != std::errc() || p1 == end || *p1 != '-') return false;
  auto [p2, e2] = std::from_chars(p1 + 1, end, hi);
  if (e2 != std::errc()) return false;
  s.remove_prefix(static_cast<size_t>(p2 - s.data()));
  return true;
}

std::string_view CategoryTag(std::string_view name) {
  const size_t at = name.find("_I");
  return at == std::string_view::npos ? name : name.substr(0, at);
}

Status ValidateCategory(const Category& c) {
  auto range_ok = [](int64_t lo, int64_t hi) {
    return lo >= 1 && lo <= hi && hi <= kMaxTraceTokens;
  };
  if (!range_ok(c.input_min, c.input_max) || !range_ok(c.output_min, c.output_max)) {
    return InvalidArgument(fmt::format(
        "category '{}': token ranges must satisfy 1 <= min <= max <= {}, got input {}-{}, "
        "output {}-{}",
        c.name, kMaxTraceTokens, c.input_min, c.input_max, c.output_min, c.output_max));
  }
  if (!std::isfinite(c.weight) || c.weight <= 0.0) {
    return InvalidArgument(
        fmt::format("category '{}': weight must be finite and > 0, got {}", c.name, c.weight));
  }
  return Status::Ok();
}

Status ValidateGeneratorOptions(const GeneratorOptions& o) {
  if (o.categories.empty()) return InvalidArgument("generator: no categories given");
  for (const Category& c : o.categories) OF_RETURN_IF_ERROR(ValidateCategory(c));
  if (o.num_requests < 1) {
    return InvalidArgument(
        fmt::format("generator: num_requests must be >= 1, got {}", o.num_requests));
  }
  if (!std::isfinite(o.rate_multiplier) || o.rate_multiplier <= 0.0) {
    return InvalidArgument(fmt::format("generator: rate_multiplier must be finite and > 0, got {}",
                                       o.rate_multiplier));
  }
  if (o.base_rate && (!std::isfinite(*o.base_rate) || *o.base_rate <= 0.0)) {
    return InvalidArgument(
        fmt::format("generator: base_rate must be finite and > 0, got {}", *o.base_rate));
  }
  if (!std::isfinite(o.cv) || o.cv <= 0.0) {
    return InvalidArgument(fmt::format("generator: cv must be finite and > 0, got {}", o.cv));
  }
  return Status::Ok();
}

// A length inside [lo, hi]: log-normal around the range's geometric middle.
int64_t SampleLength(int64_t lo, int64_t hi, WorkloadRng& rng) {
  const double z = rng.Normal();  // drawn even when lo == hi, so streams stay aligned
  if (lo == hi) return lo;
  const double mu = 0.5 * (std::log(static_cast<double>(lo)) + std::log(static_cast<double>(hi)));
  const double sigma = std::log(static_cast<double>(hi) / static_cast<double>(lo)) / 4.0;
  const double x = std::round(std::exp(mu + sigma * z));
  return std::clamp(static_cast<int64_t>(std::clamp(x, 1.0, 1e18)), lo, hi);
}

size_t PickCategory(const std::vector<double>& cumulative, WorkloadRng& rng) {
  const double u = rng.Uniform() * cumulative.back();
  const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
  return std::min(static_cast<size_t>(it - cumulative.begin()), cumulative.size() - 1);
}

}  // namespace

StatusOr<Category> ParseCategory(std::string_view name, double weight) {
  Category c;
  c.name = std::string(name);
  c.weight = weight;
  std::string_view rest = name.substr(CategoryTag(name).size());
  if (!ParseRange(rest, "_I", c.input_min, c.input_max) ||
      !ParseRange(rest, "_O", c.output_min, c.output_max) || !rest.empty()) {
    return InvalidArgument(fmt::format(
        "category '{}': expected <TAG>_I<min>-<max>_O<min>-<max>, e.g. MSL_I1632-2448_O3264-4912",
        name));
  }
  OF_RETURN_IF_ERROR(ValidateCategory(c));
  return c;
}

std::vector<Category> DefaultCategories() {
  struct Entry {
    const char* name;
    int count;
  };
  static constexpr Entry kMix[] = {
      {"LMS_I3264-4912_O1632-2448", 6},  {"LMS_I3264-4912_O816-1216", 2},
      {"LMS_I6544-9824_O1632-2448", 6},  {"LMS_I6544-9824_O816-1216", 6},
      {"LSS_I3264-4912_O192-304", 5},    {"LSS_I3264-4912_O400-608", 6},
      {"LSS_I3264-4912_O96-144", 2},     {"LSS_I6544-9824_O192-304", 9},
      {"LSS_I6544-9824_O400-608", 6},    {"LSS_I6544-9824_O96-144", 3},
      {"MMS_I1632-2448_O1632-2448", 10}, {"MMS_I1632-2448_O816-1216", 1},
      {"MMS_I816-1216_O1632-2448", 1},   {"MMS_I816-1216_O816-1216", 2},
      {"MSL_I1632-2448_O3264-4912", 15}, {"MSL_I1632-2448_O6544-9824", 8},
      {"MSL_I816-1216_O3264-4912", 8},   {"MSL_I816-1216_O6544-9824", 8},
      {"MSS_I1632-2448_O192-304", 4},    {"MSS_I1632-2448_O400-608", 4},
      {"MSS_I1632-2448_O96-144", 1},     {"MSS_I816-1216_O96-144", 2},
      {"SMS_I192-304_O1632-2448", 3},    {"SMS_I192-304_O816-1216", 1},
      {"SMS_I400-608_O1632-2448", 3},    {"SMS_I400-608_O816-1216", 3},
      {"SMS_I96-144_O1632-2448", 4},     {"SMS_I96-144_O816-1216", 1},
      {"SSL_I192-304_O3264-4912", 3},    {"SSL_I192-304_O6544-9824", 3},
      {"SSL_I400-608_O3264-4912", 1},    {"SSL_I400-608_O6544-9824", 1},
      {"SSL_I96-144_O3264-4912", 2},     {"SSS_I192-304_O192-304", 2},
      {"SSS_I192-304_O400-608", 3},      {"SSS_I192-304_O96-144", 3},
      {"SSS_I400-608_O96-144", 2},       {"SSS_I96-144_O400-608", 4},
      {"SSS_I96-144_O96-144", 2},
  };
  std::vector<Category> out;
  for (const Entry& e : kMix) {
    StatusOr<Category> c = ParseCategory(e.name, e.count);
    assert(c.ok() && "built-in category names parse");
    if (c.ok()) out.push_back(*c);
  }
  return out;
}

std::vector<Category> ScaleCategories(const std::vector<Category>& categories, double factor) {
  std::vector<Category> out = categories;
  auto scale = [factor](int64_t v) {
    double x = std::floor(static_cast<double>(v) * factor);
    if (!(x >= 1.0)) x = 1.0;  // also catches NaN from a non-finite factor
    return static_cast<int64_t>(std::min(x, static_cast<double>(kMaxTraceTokens)));
  };
  for (Category& c : out) {
    c.input_min = scale(c.input_min);
    c.input_max = scale(c.input_max);
    c.output_min = scale(c.output_min);
    c.output_max = scale(c.output_max);
    c.name = fmt::format("{}_I{}-{}_O{}-{}", CategoryTag(c.name), c.input_min, c.input_max,
                         c.output_min, c.output_max);
  }
  return out;
}

StatusOr<Workload> GenerateWorkload(const GeneratorOptions& options) {
  OF_RETURN_IF_ERROR(ValidateGeneratorOptions(options));
  std::vector<double> cumulative;
  double total = 0.0;
  for (const Category& c : options.categories) cumulative.push_back(total += c.weight);

  WorkloadRng rng(options.seed);
  Workload w;
  w.name = "generated";
  w.unit = options.unit;
  double output_sum = 0.0;
  for (int i = 0; i < options.num_requests; ++i) {
    const Category& c = options.categories[PickCategory(cumulative, rng)];
    WorkloadRequest r;
    r.index = i;
    r.category = c.name;
    r.input_tokens = SampleLength(c.input_min, c.input_max, rng);
    r.output_tokens = SampleLength(c.output_min, c.output_max, rng);
    output_sum += static_cast<double>(r.output_tokens);
    w.requests.push_back(std::move(r));
  }
  const double base = options.base_rate.value_or(options.num_requests / output_sum);
  const double lambda = base * options.rate_multiplier;
  OF_ASSIGN_OR_RETURN(GapSampler gaps, GapSampler::Make(ArrivalProcessOptions::kLogNormal,
                                                        1.0 / lambda, options.cv));
  double t = 0.0;
  for (size_t i = 1; i < w.requests.size(); ++i) {
    t += gaps.Sample(rng);
    if (!std::isfinite(t)) {
      return InvalidArgument(
          fmt::format("generator: arrival times overflow (lambda {} per {}); raise base_rate",
                      lambda, ArrivalUnitName(options.unit)));
    }
    w.requests[i].arrival = t;
  }
  w.header.arrival_pattern = fmt::format("LognormalArrival(lambda={},cv={})", lambda, options.cv);
  w.header.arrival_lambda = lambda;
  w.header.arrival_cv = options.cv;
  w.source = fmt::format(
      "generated: {} requests from {} categories, log-normal gaps "
      "(lambda={} per {}, cv={}), seed {}",
      options.num_requests, options.categories.size(), lambda,
      options.unit == ArrivalUnit::kSteps ? "step" : "second", options.cv, options.seed);
  return w;
}

}  // namespace orbitflow
