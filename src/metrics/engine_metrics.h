// The engine's Prometheus metrics, named as vLLM names them under the "orbitflow:" prefix
// (INTERFACES.md), registered once and held as direct pointers for the hot path.
#pragma once

#include <string_view>

#include "metrics/prometheus.h"
#include "metrics/request_record.h"
#include "orbitflow/status.h"

namespace orbitflow {

// Label values of transfer_bytes_total{direction}.
inline constexpr std::string_view kHostToDevice = "host_to_device";
inline constexpr std::string_view kDeviceToHost = "device_to_host";

struct EngineMetrics {
  // Gauges.
  Gauge* num_requests_running = nullptr;
  Gauge* num_requests_waiting = nullptr;
  Gauge* num_requests_paused = nullptr;
  Gauge* kv_cache_usage_device = nullptr;  // kv_cache_usage_perc{tier="device"}, 0..1
  Gauge* kv_cache_usage_host = nullptr;    // kv_cache_usage_perc{tier="host"}, 0..1
  // Counters.
  Counter* prompt_tokens_total = nullptr;
  Counter* generation_tokens_total = nullptr;
  CounterFamily* request_success_total = nullptr;  // {finished_reason}
  Counter* num_preemptions_total = nullptr;
  Counter* num_pauses_total = nullptr;
  Counter* num_replans_total = nullptr;
  Counter* transfer_bytes_host_to_device = nullptr;  // transfer_bytes_total{direction}
  Counter* transfer_bytes_device_to_host = nullptr;
  Counter* slo_violations_tbt = nullptr;  // slo_violations_total{kind="tbt"}
  // Histograms, in seconds.
  Histogram* time_to_first_token_seconds = nullptr;
  Histogram* inter_token_latency_seconds = nullptr;  // per token
  Histogram* request_time_per_output_token_seconds = nullptr;  // per request
  Histogram* e2e_request_latency_seconds = nullptr;
  Histogram* request_queue_time_seconds = nullptr;
  Histogram* step_stall_seconds = nullptr;
  Histogram* solver_seconds = nullptr;

  // Registers every metric in `registry` (idempotent for the same registry).
  static StatusOr<EngineMetrics> Register(PrometheusRegistry& registry);

  // Records a finished request's request-level figures: request_success_total by reason,
  // time to first token, time per output token (mean gap, with two tokens or more), end-to-end
  // latency and queue time (arrival to first scheduling). Per-token figures (inter-token
  // latency, TBT violations, token counters) are the caller's to record as tokens appear.
  Status ObserveFinished(const RequestRecord& record);
};

}  // namespace orbitflow
