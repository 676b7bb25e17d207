// A small metrics registry rendered in the Prometheus text exposition format (version 0.0.4),
// served by the HTTP server at GET /metrics.
//
// Families (a name, help text, label names) hold one child metric per distinct tuple of label
// values. Callers look a child up once and keep the pointer: children live as long as the
// registry, and updating one is a lock-free atomic (counters, gauges) or a short mutex
// (histograms, so a scrape never sees a count that disagrees with its buckets).
// Thread-safe: every method may be called from any thread at any time.
//
//   PrometheusRegistry registry;  // names get the "orbitflow:" prefix
//   OF_ASSIGN_OR_RETURN(CounterFamily* done, registry.AddCounter(
//       "request_success_total", "Finished requests.", {"finished_reason"}));
//   OF_ASSIGN_OR_RETURN(Counter* stop, done->WithLabels({"stop"}));
//   stop->Increment();
//   std::string text = registry.Render();
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "orbitflow/status.h"

namespace orbitflow {

inline constexpr std::string_view kMetricPrefix = "orbitflow:";

// A value that only goes up.
class Counter {
 public:
  // Negative amounts are ignored: a counter never goes down.
  void Increment(double amount = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Counts observations into buckets with upper bounds (value <= bound), plus their sum.
class Histogram {
 public:
  // REQUIRES: bounds strictly increasing and finite (checked by AddHistogram).
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last is (last bound, +Inf)
  double sum_ = 0;
  uint64_t count_ = 0;
};

enum class MetricType { kCounter, kGauge, kHistogram };

// What every family shares; the registry renders families through this.
class MetricFamilyBase {
 public:
  virtual ~MetricFamilyBase() = default;
  const std::string& name() const { return name_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Appends this family's HELP, TYPE and sample lines.
  void Render(std::string& out) const;

 protected:
  MetricFamilyBase(std::string name, std::string help, MetricType type,
                   std::vector<std::string> label_names);
  // Sample lines of every child, label tuples in sorted order. REQUIRES: mu_ held.
  virtual void RenderChildren(std::string& out) const = 0;
  // Validates `values` against label_names(); an error names the family.
  Status CheckLabels(const std::vector<std::string>& values) const;

  mutable std::mutex mu_;

 private:
  std::string name_, help_;
  MetricType type_;
  std::vector<std::string> label_names_;
};

// One family of metrics of type T (Counter, Gauge or Histogram).
template <typename T>
class MetricFamily final : public MetricFamilyBase {
 public:
  MetricFamily(std::string name, std::string help, MetricType type,
               std::vector<std::string> label_names, std::vector<double> bounds = {});

  // The child for these label values (one per label name, in order), created at 0 on first
  // use. The pointer stays valid for the registry's lifetime.
  StatusOr<T*> WithLabels(const std::vector<std::string>& values);
  // Bucket upper bounds (histograms; empty otherwise).
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  void RenderChildren(std::string& out) const override;

  std::vector<double> bounds_;  // histograms only
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

using CounterFamily = MetricFamily<Counter>;
using GaugeFamily = MetricFamily<Gauge>;
using HistogramFamily = MetricFamily<Histogram>;

class PrometheusRegistry {
 public:
  // `prefix` is prepended to every family name.
  explicit PrometheusRegistry(std::string prefix = std::string(kMetricPrefix));
  PrometheusRegistry(const PrometheusRegistry&) = delete;
  PrometheusRegistry& operator=(const PrometheusRegistry&) = delete;

  // Declares a family, or returns the existing one when a family of that name exists with the
  // same type and label names (so two components may ask for the same metric). Errors: a name
  // or label name Prometheus would reject, or a clash with an existing family. A family without
  // labels has its one child from the start, so it renders as 0 before its first update.
  StatusOr<CounterFamily*> AddCounter(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names = {});
  StatusOr<GaugeFamily*> AddGauge(std::string_view name, std::string_view help,
                                  std::vector<std::string> label_names = {});
  // REQUIRES of `bounds`: non-empty, finite, strictly increasing (else an error). +Inf is
  // implied.
  StatusOr<HistogramFamily*> AddHistogram(std::string_view name, std::string_view help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds);

  // Every family in the order it was added, in the text exposition format.
  std::string Render() const;

 private:
  template <typename T>
  StatusOr<MetricFamily<T>*> Add(std::string_view name, std::string_view help, MetricType type,
                                 std::vector<std::string> label_names,
                                 std::vector<double> bounds);

  const std::string prefix_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<MetricFamilyBase>> families_;
};

// A number as Prometheus writes it: shortest round-trip form, +Inf, -Inf, NaN.
std::string FormatMetricValue(double value);

}  // namespace orbitflow
