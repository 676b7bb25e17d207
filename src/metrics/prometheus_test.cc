#include "metrics/prometheus.h"

#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "metrics/engine_metrics.h"

namespace orbitflow {
namespace {

TEST(PrometheusTest, RendersCounterGaugeAndHistogramExactly) {
  PrometheusRegistry reg;
  auto done = reg.AddCounter("request_success_total", "Finished requests.", {"finished_reason"});
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  (*(*done)->WithLabels({"stop"}))->Increment(3);
  (*(*done)->WithLabels({"length"}))->Increment();

  auto running = reg.AddGauge("num_requests_running", "Requests running.");
  ASSERT_TRUE(running.ok());
  Gauge* g = *(*running)->WithLabels({});
  g->Set(4);
  g->Add(-1.5);

  auto ttft = reg.AddHistogram("time_to_first_token_seconds", "TTFT.", {"tier"},
                               {0.125, 0.5, 1});
  ASSERT_TRUE(ttft.ok());
  Histogram* h = *(*ttft)->WithLabels({"device"});
  for (double v : {0.0625, 0.125, 0.25, 0.75, 2.0}) h->Observe(v);

  // Families in registration order; children by label values; buckets cumulative, a value on
  // a bound counts in that bucket.
  EXPECT_EQ(reg.Render(),
            "# HELP orbitflow:request_success_total Finished requests.\n"
            "# TYPE orbitflow:request_success_total counter\n"
            "orbitflow:request_success_total{finished_reason=\"length\"} 1\n"
            "orbitflow:request_success_total{finished_reason=\"stop\"} 3\n"
            "# HELP orbitflow:num_requests_running Requests running.\n"
            "# TYPE orbitflow:num_requests_running gauge\n"
            "orbitflow:num_requests_running 2.5\n"
            "# HELP orbitflow:time_to_first_token_seconds TTFT.\n"
            "# TYPE orbitflow:time_to_first_token_seconds histogram\n"
            "orbitflow:time_to_first_token_seconds_bucket{tier=\"device\",le=\"0.125\"} 2\n"
            "orbitflow:time_to_first_token_seconds_bucket{tier=\"device\",le=\"0.5\"} 3\n"
            "orbitflow:time_to_first_token_seconds_bucket{tier=\"device\",le=\"1\"} 4\n"
            "orbitflow:time_to_first_token_seconds_bucket{tier=\"device\",le=\"+Inf\"} 5\n"
            "orbitflow:time_to_first_token_seconds_sum{tier=\"device\"} 3.1875\n"
            "orbitflow:time_to_first_token_seconds_count{tier=\"device\"} 5\n");
}

TEST(PrometheusTest, UnlabelledFamiliesRenderZeroBeforeAnyUpdate) {
  PrometheusRegistry reg;
  ASSERT_TRUE(reg.AddCounter("num_pauses_total", "Pauses.").ok());
  ASSERT_TRUE(reg.AddHistogram("solver_seconds", "Solver.", {}, {0.5}).ok());
  ASSERT_TRUE(reg.AddCounter("labelled_total", "Nothing yet.", {"kind"}).ok());
  EXPECT_EQ(reg.Render(),
            "# HELP orbitflow:num_pauses_total Pauses.\n"
            "# TYPE orbitflow:num_pauses_total counter\n"
            "orbitflow:num_pauses_total 0\n"
            "# HELP orbitflow:solver_seconds Solver.\n"
            "# TYPE orbitflow:solver_seconds histogram\n"
            "orbitflow:solver_seconds_bucket{le=\"0.5\"} 0\n"
            "orbitflow:solver_seconds_bucket{le=\"+Inf\"} 0\n"
            "orbitflow:solver_seconds_sum 0\n"
            "orbitflow:solver_seconds_count 0\n"
            "# HELP orbitflow:labelled_total Nothing yet.\n"
            "# TYPE orbitflow:labelled_total counter\n");
}

TEST(PrometheusTest, EscapesLabelValuesAndHelp) {
  PrometheusRegistry reg("");
  auto f = reg.AddGauge("g", "line one\nback\\slash", {"path"});
  ASSERT_TRUE(f.ok());
  (*(*f)->WithLabels({"a\"b\\c\nd"}))->Set(1);
  EXPECT_EQ(reg.Render(),
            "# HELP g line one\\nback\\\\slash\n"
            "# TYPE g gauge\n"
            "g{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(PrometheusTest, FormatsSpecialValues) {
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatMetricValue(0.001), "0.001");
  EXPECT_EQ(FormatMetricValue(1e21), "1e+21");
}

TEST(PrometheusTest, CounterNeverGoesDown) {
  Counter c;
  c.Increment(2);
  c.Increment(-5);
  EXPECT_EQ(c.value(), 2.0);
}

TEST(PrometheusTest, RejectsBadNamesLabelsAndClashes) {
  PrometheusRegistry reg;
  EXPECT_FALSE(reg.AddCounter("bad name", "x").ok());
  EXPECT_FALSE(reg.AddCounter("9starts_with_digit", "x", {}).ok() &&
               PrometheusRegistry("").AddCounter("9x", "x").ok());
  EXPECT_FALSE(reg.AddCounter("ok_total", "x", {"bad-label"}).ok());
  EXPECT_FALSE(reg.AddCounter("ok_total", "x", {"__reserved"}).ok());
  EXPECT_FALSE(reg.AddCounter("ok_total", "x", {"a", "a"}).ok());
  EXPECT_FALSE(reg.AddHistogram("h", "x", {"le"}, {1}).ok());
  EXPECT_FALSE(reg.AddHistogram("h", "x", {}, {}).ok());
  EXPECT_FALSE(reg.AddHistogram("h", "x", {}, {1, 1}).ok());
  EXPECT_FALSE(reg.AddHistogram("h", "x", {}, {1, std::nan("")}).ok());

  auto first = reg.AddCounter("same_total", "x", {"kind"});
  auto again = reg.AddCounter("same_total", "x", {"kind"});
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(*first, *again);  // idempotent
  EXPECT_FALSE(reg.AddGauge("same_total", "x", {"kind"}).ok());
  EXPECT_FALSE(reg.AddCounter("same_total", "x", {"other"}).ok());
  ASSERT_TRUE(reg.AddHistogram("hist", "x", {}, {1, 2}).ok());
  EXPECT_FALSE(reg.AddHistogram("hist", "x", {}, {1, 3}).ok());

  auto wrong_arity = (*first)->WithLabels({"a", "b"});
  ASSERT_FALSE(wrong_arity.ok());
  EXPECT_NE(wrong_arity.status().message().find("orbitflow:same_total"), std::string::npos);
}

TEST(PrometheusTest, ConcurrentUpdatesAreAllCounted) {
  PrometheusRegistry reg;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::atomic<bool> stop_render{false};
  // A scraper renders throughout, as the HTTP server would.
  std::thread scraper([&] {
    while (!stop_render.load()) (void)reg.Render();
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      // Every thread registers and looks up children itself, racing on creation too.
      auto tokens = reg.AddCounter("tokens_total", "Tokens.", {"parity"});
      auto live = reg.AddGauge("live", "Live.");
      auto lat = reg.AddHistogram("latency_seconds", "Latency.", {}, {0.5, 1.5});
      ASSERT_TRUE(tokens.ok() && live.ok() && lat.ok());
      Counter* c = *(*tokens)->WithLabels({t % 2 == 0 ? "even" : "odd"});
      Gauge* g = *(*live)->WithLabels({});
      Histogram* h = *(*lat)->WithLabels({});
      for (int i = 0; i < kPerThread; ++i) {
        c->Increment();
        g->Add(1);
        h->Observe(i % 2 == 0 ? 0.25 : 1.0);
      }
    });
  }
  for (auto& w : workers) w.join();
  stop_render = true;
  scraper.join();

  const double half = kThreads / 2 * kPerThread;  // 80,000 per parity
  auto tokens = reg.AddCounter("tokens_total", "Tokens.", {"parity"});
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ((*(*tokens)->WithLabels({"even"}))->value(), half);
  EXPECT_EQ((*(*tokens)->WithLabels({"odd"}))->value(), half);
  auto lat = reg.AddHistogram("latency_seconds", "Latency.", {}, {0.5, 1.5});
  const Histogram::Snapshot s = (*(*lat)->WithLabels({}))->snapshot();
  EXPECT_EQ(s.count, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{80000, 160000, 160000}));
  EXPECT_EQ(s.sum, 80000 * 0.25 + 80000 * 1.0);
  const std::string text = reg.Render();
  EXPECT_NE(text.find("orbitflow:live 160000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("orbitflow:tokens_total{parity=\"even\"} 80000\n"), std::string::npos);
}

TEST(EngineMetricsTest, RegistersEveryInterfaceName) {
  PrometheusRegistry reg;
  auto m = EngineMetrics::Register(reg);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE(EngineMetrics::Register(reg).ok());  // idempotent
  const std::string text = reg.Render();
  for (const char* name :
       {"num_requests_running", "num_requests_waiting", "num_requests_paused",
        "kv_cache_usage_perc", "prompt_tokens_total", "generation_tokens_total",
        "request_success_total", "num_preemptions_total", "num_pauses_total",
        "num_replans_total", "transfer_bytes_total", "slo_violations_total",
        "time_to_first_token_seconds", "inter_token_latency_seconds",
        "request_time_per_output_token_seconds", "e2e_request_latency_seconds",
        "request_queue_time_seconds", "step_stall_seconds", "solver_seconds"}) {
    EXPECT_NE(text.find(std::string("# TYPE orbitflow:") + name + " "), std::string::npos)
        << name;
  }
  EXPECT_NE(text.find("orbitflow:kv_cache_usage_perc{tier=\"device\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("orbitflow:transfer_bytes_total{direction=\"host_to_device\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("orbitflow:slo_violations_total{kind=\"tbt\"} 0\n"), std::string::npos);
}

TEST(EngineMetricsTest, ObserveFinishedRecordsRequestFigures) {
  PrometheusRegistry reg;
  auto m = EngineMetrics::Register(reg);
  ASSERT_TRUE(m.ok());
  RequestRecord r;
  r.arrival = Seconds(1);
  r.first_scheduled = Seconds(1.5);
  r.first_token = Seconds(2);
  r.token_times = {Seconds(2), Seconds(2.25), Seconds(2.5)};
  r.finished = Seconds(2.5);
  r.reason = FinishReason::kStop;
  ASSERT_TRUE(m->ObserveFinished(r).ok());
  auto stop = m->request_success_total->WithLabels({"stop"});
  ASSERT_TRUE(stop.ok());
  EXPECT_EQ((*stop)->value(), 1.0);
  EXPECT_EQ(m->time_to_first_token_seconds->snapshot().sum, 1.0);
  EXPECT_EQ(m->request_time_per_output_token_seconds->snapshot().sum, 0.25);
  EXPECT_EQ(m->e2e_request_latency_seconds->snapshot().sum, 1.5);
  EXPECT_EQ(m->request_queue_time_seconds->snapshot().sum, 0.5);
  EXPECT_EQ(m->inter_token_latency_seconds->snapshot().count, 0u);  // the caller's, per token
}

}  // namespace
}  // namespace orbitflow
