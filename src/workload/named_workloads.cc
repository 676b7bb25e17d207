#include "workload/named_workloads.h"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "workload/embedded_traces.h"

namespace orbitflow {
namespace {

struct ShippedFile {
  double multiplier;
  const char* file;  // an embedded file name
};

struct NamedWorkload {
  const char* name;
  std::vector<ShippedFile> files;  // ascending multiplier
};

const std::vector<NamedWorkload>& Catalog() {
  static const std::vector<NamedWorkload> kCatalog = {
      {"paper-32k",
       {{1.0, "32k_lambda1.0x_cv1.json"},
        {2.0, "32k_lambda2.0x_cv1.json"},
        {2.5, "32k_lambda2.5x_cv1.json"},
        {3.0, "32k_lambda3.0x_cv1.json"},
        {4.5, "32k_lambda4.5x_cv1.json"},
        {5.0, "32k_lambda5.0x_cv1.json"}}},
      {"paper-128k", {{2.0, "128k_bs8_lambda2.0x_cv1.json"}}},
  };
  return kCatalog;
}

const NamedWorkload* Find(std::string_view name) {
  for (const NamedWorkload& w : Catalog()) {
    if (name == w.name) return &w;
  }
  return nullptr;
}

// The shipped file whose multiplier is nearest to x; on a tie the lower multiplier wins.
const ShippedFile& Nearest(const NamedWorkload& w, double x) {
  const ShippedFile* best = &w.files.front();
  for (const ShippedFile& f : w.files) {
    if (std::abs(f.multiplier - x) < std::abs(best->multiplier - x)) best = &f;
  }
  return *best;
}

}  // namespace

std::vector<std::string> NamedWorkloads() {
  std::vector<std::string> names;
  for (const NamedWorkload& w : Catalog()) names.emplace_back(w.name);
  return names;
}

std::vector<double> NamedWorkloadMultipliers(std::string_view name) {
  std::vector<double> out;
  if (const NamedWorkload* w = Find(name)) {
    for (const ShippedFile& f : w->files) out.push_back(f.multiplier);
  }
  return out;
}

StatusOr<Workload> LoadNamedWorkload(std::string_view name, const NamedWorkloadOptions& options) {
  const NamedWorkload* named = Find(name);
  if (named == nullptr) {
    return NotFound(fmt::format("unknown workload '{}'; named workloads: {}", name,
                                fmt::join(NamedWorkloads(), ", ")));
  }
  const double x = options.rate_scale.value_or(kDefaultPaperLoadMultiplier);
  if (!std::isfinite(x) || x <= 0.0) {
    return InvalidArgument(fmt::format(
        "workload '{}': rate_scale (the load multiplier) must be finite and > 0, got {}", name, x));
  }
  const ShippedFile& file = Nearest(*named, x);
  const std::optional<std::string_view> text = EmbeddedTraceFile(file.file);
  if (!text) {
    return Internal(
        fmt::format("workload '{}': trace file {} is not embedded in this build", name, file.file));
  }
  TraceOptions trace;
  trace.max_requests = options.max_requests;
  trace.max_context = options.max_context;
  OF_ASSIGN_OR_RETURN(Workload w, ParseTrace(*text, fmt::format("{} (embedded)", file.file),
                                             TraceFormat::kOrbitflow, trace));
  w.name = named->name;
  if (file.multiplier == x) {
    w.source = fmt::format("{} at {}x: {} (embedded)", named->name, x, file.file);
    return w;
  }
  // No file for x: stretch the nearest file's gaps, keeping its requests.
  const double factor = file.multiplier / x;
  OF_RETURN_IF_ERROR(StretchArrivals(factor, w));
  w.source = fmt::format("{} at {}x: {} (embedded) with arrival gaps x {} (= {} / {})", named->name,
                         x, file.file, factor, file.multiplier, x);
  return w;
}

}  // namespace orbitflow
