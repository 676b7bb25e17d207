#include "metrics/prometheus.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <type_traits>

#include <fmt/format.h>

namespace orbitflow {
namespace {

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool ValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return IsNameChar(c) || c == ':'; });
}

// [a-zA-Z_][a-zA-Z0-9_]*, and not the reserved "__" prefix.
bool ValidLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0]) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(), IsNameChar);
}

// Escapes backslash and newline (HELP text); also double quotes for label values.
std::string Escape(std::string_view s, bool quotes) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quotes) out += "\\\"";
    else out += c;
  }
  return out;
}

// {a="x",b="y"} with an optional extra label (histograms' le); empty when there are none.
std::string LabelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     std::string_view extra_name = {}, std::string_view extra_value = {}) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += fmt::format("{}=\"{}\"", names[i], Escape(values[i], true));
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += fmt::format("{}=\"{}\"", extra_name, extra_value);
  }
  if (!out.empty()) out += '}';
  return out;
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

void Counter::Increment(double amount) {
  if (amount > 0) value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  // First bucket whose upper bound is >= value; past the end is the +Inf bucket.
  const size_t bucket = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  std::lock_guard<std::mutex> lock(mu_);
  s.cumulative.reserve(counts_.size());
  uint64_t running = 0;
  for (uint64_t c : counts_) s.cumulative.push_back(running += c);
  s.sum = sum_;
  s.count = count_;
  return s;
}

MetricFamilyBase::MetricFamilyBase(std::string name, std::string help, MetricType type,
                                   std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type),
      label_names_(std::move(label_names)) {}

void MetricFamilyBase::Render(std::string& out) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, Escape(help_, false), name_,
                     TypeName(type_));
  std::lock_guard<std::mutex> lock(mu_);
  RenderChildren(out);
}

Status MetricFamilyBase::CheckLabels(const std::vector<std::string>& values) const {
  if (values.size() != label_names_.size()) {
    return InvalidArgument(fmt::format("metric {} takes {} label value(s) ({}), got {}", name_,
                                       label_names_.size(), fmt::join(label_names_, ", "),
                                       values.size()));
  }
  return Status::Ok();
}

template <typename T>
MetricFamily<T>::MetricFamily(std::string name, std::string help, MetricType type,
                              std::vector<std::string> label_names, std::vector<double> bounds)
    : MetricFamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
      bounds_(std::move(bounds)) {}

template <typename T>
StatusOr<T*> MetricFamily<T>::WithLabels(const std::vector<std::string>& values) {
  OF_RETURN_IF_ERROR(CheckLabels(values));
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<T>& child = children_[values];
  if (!child) {
    if constexpr (std::is_same_v<T, Histogram>) {
      child = std::make_unique<Histogram>(bounds_);
    } else {
      child = std::make_unique<T>();
    }
  }
  return child.get();
}

template <typename T>
void MetricFamily<T>::RenderChildren(std::string& out) const {
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<T, Histogram>) {
      const Histogram::Snapshot s = child->snapshot();
      for (size_t i = 0; i < s.cumulative.size(); ++i) {
        const std::string le =
            i < bounds_.size() ? FormatMetricValue(bounds_[i]) : std::string("+Inf");
        out += fmt::format("{}_bucket{} {}\n", name(), LabelSet(label_names(), values, "le", le),
                           s.cumulative[i]);
      }
      const std::string labels = LabelSet(label_names(), values);
      out += fmt::format("{}_sum{} {}\n", name(), labels, FormatMetricValue(s.sum));
      out += fmt::format("{}_count{} {}\n", name(), labels, s.count);
    } else {
      out += fmt::format("{}{} {}\n", name(), LabelSet(label_names(), values),
                         FormatMetricValue(child->value()));
    }
  }
}

template class MetricFamily<Counter>;
template class MetricFamily<Gauge>;
template class MetricFamily<Histogram>;

PrometheusRegistry::PrometheusRegistry(std::string prefix) : prefix_(std::move(prefix)) {}

template <typename T>
StatusOr<MetricFamily<T>*> PrometheusRegistry::Add(std::string_view name, std::string_view help,
                                                   MetricType type,
                                                   std::vector<std::string> label_names,
                                                   std::vector<double> bounds) {
  const std::string full = prefix_ + std::string(name);
  if (!ValidMetricName(full)) {
    return InvalidArgument(fmt::format("invalid metric name \"{}\": use [a-zA-Z_:][a-zA-Z0-9_:]*",
                                       full));
  }
  std::set<std::string_view> seen;
  for (const std::string& label : label_names) {
    const bool reserved = type == MetricType::kHistogram && label == "le";
    if (!ValidLabelName(label) || reserved || !seen.insert(label).second) {
      return InvalidArgument(fmt::format("metric {}: invalid or repeated label name \"{}\"",
                                         full, label));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& family : families_) {
    if (family->name() != full) continue;
    // Type and T correspond one to one, so once the types match the cast is exact.
    auto* same = family->type() == type ? static_cast<MetricFamily<T>*>(family.get()) : nullptr;
    if (same == nullptr || same->label_names() != label_names || same->bounds() != bounds) {
      return InvalidArgument(fmt::format(
          "metric {} is already registered as a {} with labels ({}); a second registration "
          "must use the same type, labels and buckets",
          full, TypeName(family->type()), fmt::join(family->label_names(), ", ")));
    }
    return same;
  }
  const bool unlabelled = label_names.empty();
  auto family = std::make_unique<MetricFamily<T>>(full, std::string(help), type,
                                                  std::move(label_names), std::move(bounds));
  MetricFamily<T>* raw = family.get();
  families_.push_back(std::move(family));
  if (unlabelled) OF_RETURN_IF_ERROR(raw->WithLabels({}).status());
  return raw;
}

StatusOr<CounterFamily*> PrometheusRegistry::AddCounter(std::string_view name,
                                                        std::string_view help,
                                                        std::vector<std::string> label_names) {
  return Add<Counter>(name, help, MetricType::kCounter, std::move(label_names), {});
}

StatusOr<GaugeFamily*> PrometheusRegistry::AddGauge(std::string_view name, std::string_view help,
                                                    std::vector<std::string> label_names) {
  return Add<Gauge>(name, help, MetricType::kGauge, std::move(label_names), {});
}

StatusOr<HistogramFamily*> PrometheusRegistry::AddHistogram(std::string_view name,
                                                            std::string_view help,
                                                            std::vector<std::string> label_names,
                                                            std::vector<double> bounds) {
  bool ok = !bounds.empty();
  for (size_t i = 0; ok && i < bounds.size(); ++i) {
    ok = std::isfinite(bounds[i]) && (i == 0 || bounds[i - 1] < bounds[i]);
  }
  if (!ok) {
    return InvalidArgument(fmt::format(
        "histogram {}{}: bucket bounds must be non-empty, finite and strictly increasing",
        prefix_, name));
  }
  return Add<Histogram>(name, help, MetricType::kHistogram, std::move(label_names),
                        std::move(bounds));
}

std::string PrometheusRegistry::Render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& family : families_) family->Render(out);
  return out;
}

}  // namespace orbitflow
