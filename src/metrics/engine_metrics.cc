#include "metrics/engine_metrics.h"

#include <string>
#include <vector>

namespace orbitflow {
namespace {

// Bucket bounds as vLLM uses them, so dashboards built for vLLM read ours unchanged.
const std::vector<double> kTtftBuckets = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                          0.25,  0.5,   0.75, 1.0,  2.5,  5.0,  7.5,  10.0,
                                          20.0,  40.0,  80.0, 160.0, 640.0, 2560.0};
const std::vector<double> kTokenBuckets = {0.01, 0.025, 0.05, 0.075, 0.1,  0.15, 0.2,
                                           0.3,  0.4,   0.5,  0.75,  1.0,  2.5,  5.0,
                                           7.5,  10.0,  20.0, 40.0,  80.0};
const std::vector<double> kRequestBuckets = {0.3,  0.5,  0.8,  1.0,   1.5,   2.0,   2.5,
                                             5.0,  10.0, 15.0, 20.0,  30.0,  40.0,  50.0,
                                             60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
// Ours: solver and stall times sit far below a token's latency.
const std::vector<double> kFineBuckets = {1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3,
                                          5e-3, 0.01,   0.025, 0.05, 0.1,   0.25, 0.5,  1.0};

StatusOr<Counter*> OneCounter(PrometheusRegistry& reg, std::string_view name,
                              std::string_view help) {
  OF_ASSIGN_OR_RETURN(CounterFamily* family, reg.AddCounter(name, help));
  return family->WithLabels({});
}

StatusOr<Gauge*> OneGauge(PrometheusRegistry& reg, std::string_view name, std::string_view help) {
  OF_ASSIGN_OR_RETURN(GaugeFamily* family, reg.AddGauge(name, help));
  return family->WithLabels({});
}

StatusOr<Histogram*> OneHistogram(PrometheusRegistry& reg, std::string_view name,
                                  std::string_view help, const std::vector<double>& bounds) {
  OF_ASSIGN_OR_RETURN(HistogramFamily* family, reg.AddHistogram(name, help, {}, bounds));
  return family->WithLabels({});
}

Status RegisterGaugesAndCounters(PrometheusRegistry& reg, EngineMetrics& m) {
  OF_ASSIGN_OR_RETURN(m.num_requests_running,
                      OneGauge(reg, "num_requests_running", "Requests decoding or prefilling."));
  OF_ASSIGN_OR_RETURN(m.num_requests_waiting,
                      OneGauge(reg, "num_requests_waiting", "Requests waiting to be scheduled."));
  OF_ASSIGN_OR_RETURN(m.num_requests_paused,
                      OneGauge(reg, "num_requests_paused", "Requests paused by Pause-Resume."));
  OF_ASSIGN_OR_RETURN(GaugeFamily * usage,
                      reg.AddGauge("kv_cache_usage_perc",
                                   "Fraction of KV cache blocks in use per tier (1 = full).",
                                   {"tier"}));
  OF_ASSIGN_OR_RETURN(m.kv_cache_usage_device, usage->WithLabels({"device"}));
  OF_ASSIGN_OR_RETURN(m.kv_cache_usage_host, usage->WithLabels({"host"}));

  OF_ASSIGN_OR_RETURN(m.prompt_tokens_total,
                      OneCounter(reg, "prompt_tokens_total", "Prefill tokens processed."));
  OF_ASSIGN_OR_RETURN(m.generation_tokens_total,
                      OneCounter(reg, "generation_tokens_total", "Output tokens generated."));
  OF_ASSIGN_OR_RETURN(m.request_success_total,
                      reg.AddCounter("request_success_total", "Finished requests by reason.",
                                     {"finished_reason"}));
  OF_ASSIGN_OR_RETURN(m.num_preemptions_total,
                      OneCounter(reg, "num_preemptions_total", "Requests preempted."));
  OF_ASSIGN_OR_RETURN(m.num_pauses_total,
                      OneCounter(reg, "num_pauses_total", "Requests paused by Pause-Resume."));
  OF_ASSIGN_OR_RETURN(m.num_replans_total,
                      OneCounter(reg, "num_replans_total", "Placement plans solved."));
  OF_ASSIGN_OR_RETURN(CounterFamily * bytes,
                      reg.AddCounter("transfer_bytes_total",
                                     "KV bytes moved between tiers, by direction.",
                                     {"direction"}));
  OF_ASSIGN_OR_RETURN(m.transfer_bytes_host_to_device,
                      bytes->WithLabels({std::string(kHostToDevice)}));
  OF_ASSIGN_OR_RETURN(m.transfer_bytes_device_to_host,
                      bytes->WithLabels({std::string(kDeviceToHost)}));
  OF_ASSIGN_OR_RETURN(CounterFamily * violations,
                      reg.AddCounter("slo_violations_total", "Tokens that missed their SLO.",
                                     {"kind"}));
  OF_ASSIGN_OR_RETURN(m.slo_violations_tbt, violations->WithLabels({"tbt"}));
  return Status::Ok();
}

Status RegisterHistograms(PrometheusRegistry& reg, EngineMetrics& m) {
  OF_ASSIGN_OR_RETURN(m.time_to_first_token_seconds,
                      OneHistogram(reg, "time_to_first_token_seconds",
                                   "Time from arrival to the first output token.", kTtftBuckets));
  OF_ASSIGN_OR_RETURN(m.inter_token_latency_seconds,
                      OneHistogram(reg, "inter_token_latency_seconds",
                                   "Time between consecutive output tokens (per token).",
                                   kTokenBuckets));
  OF_ASSIGN_OR_RETURN(m.request_time_per_output_token_seconds,
                      OneHistogram(reg, "request_time_per_output_token_seconds",
                                   "Mean time between output tokens (per request).",
                                   kTokenBuckets));
  OF_ASSIGN_OR_RETURN(m.e2e_request_latency_seconds,
                      OneHistogram(reg, "e2e_request_latency_seconds",
                                   "Time from arrival to finish.", kRequestBuckets));
  OF_ASSIGN_OR_RETURN(m.request_queue_time_seconds,
                      OneHistogram(reg, "request_queue_time_seconds",
                                   "Time from arrival to first scheduling.", kRequestBuckets));
  OF_ASSIGN_OR_RETURN(m.step_stall_seconds,
                      OneHistogram(reg, "step_stall_seconds",
                                   "Time a step waited on KV transfers.", kFineBuckets));
  OF_ASSIGN_OR_RETURN(m.solver_seconds,
                      OneHistogram(reg, "solver_seconds", "Placement solver time per solve.",
                                   kFineBuckets));
  return Status::Ok();
}

}  // namespace

StatusOr<EngineMetrics> EngineMetrics::Register(PrometheusRegistry& registry) {
  EngineMetrics m;
  OF_RETURN_IF_ERROR(RegisterGaugesAndCounters(registry, m));
  OF_RETURN_IF_ERROR(RegisterHistograms(registry, m));
  return m;
}

Status EngineMetrics::ObserveFinished(const RequestRecord& r) {
  OF_ASSIGN_OR_RETURN(Counter * success,
                      request_success_total->WithLabels({std::string(FinishReasonName(r.reason))}));
  success->Increment();
  if (!r.token_times.empty()) {
    const Seconds first = r.first_token.value_or(r.token_times.front());
    time_to_first_token_seconds->Observe((first - r.arrival).count());
  }
  if (r.token_times.size() >= 2) {
    const Seconds span = r.token_times.back() - r.token_times.front();
    request_time_per_output_token_seconds->Observe(span.count() /
                                                   double(r.token_times.size() - 1));
  }
  if (r.finished) e2e_request_latency_seconds->Observe((*r.finished - r.arrival).count());
  if (r.first_scheduled) {
    request_queue_time_seconds->Observe((*r.first_scheduled - r.arrival).count());
  }
  return Status::Ok();
}

}  // namespace orbitflow
