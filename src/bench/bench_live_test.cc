// End-to-end: the bench library against a live OrbitFlow server on the bundled model, over
// loopback. Asserts what must hold exactly (counts, token totals, one ITL per token after the
// first) and ranges for what is timed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "bench/bench_report.h"
#include "bench/bench_serve.h"
#include "model/loader.h"
#include "server/server_test_util.h"

namespace orbitflow {
namespace {

using testing::LiveServer;

Tokenizer Bundled() {
  return LoadTokenizer(std::string(ORBITFLOW_REPO_DIR) + "/models/stories260K/tok512.bin").value();
}

BenchServeOptions Options(const LiveServer& s, int64_t n, int64_t in, int64_t out) {
  BenchServeOptions o;
  o.url = s.url();
  o.num_prompts = n;
  o.input_len = in;
  o.output_len = out;
  o.request_rate = 100;
  o.seed = 7;
  o.tbt_slo_ms = 100;
  o.progress = ProgressBarOptions::Mode::kOff;
  return o;
}

void ExpectInUnit(double v, const char* what) {
  EXPECT_GE(v, 0.0) << what;
  EXPECT_LE(v, 1.0) << what;
}

TEST(BenchLiveTest, RandomDatasetCompletionsAreCountedExactly) {
  LiveServer s({.max_batch = 4, .max_queue = 64});
  BenchServeOptions o = Options(s, 8, 16, 12);
  o.goodput.e2el_ms = 60'000;
  StatusOr<BenchRun> run = RunBenchServe(o, Bundled());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const BenchSummary& m = run->summary;
  EXPECT_EQ(run->server.model, "stories260K");
  EXPECT_TRUE(run->server.orbitflow);
  EXPECT_EQ(m.completed, 8);
  EXPECT_EQ(m.failed, 0);
  EXPECT_EQ(m.total_input_tokens, 8 * 16);  // token-id prompts: the server counts exactly these
  EXPECT_EQ(m.total_output_tokens, 8 * 12);  // ignore_eos: exactly max_tokens each
  for (const RequestOutcome& r : run->load.outcomes) {
    EXPECT_TRUE(r.success) << r.error;
    EXPECT_EQ(r.output_tokens, 12);
    EXPECT_EQ(r.chunk_s.size(), 12u);  // one chunk per token: 11 ITL samples each
    EXPECT_EQ(r.finish_reason, "length");
    EXPECT_GT(r.chunk_s.front(), 0.0);
    EXPECT_GE(r.latency_s, r.chunk_s.back());
  }
  EXPECT_EQ(m.itl_samples, 8 * 11);
  EXPECT_GT(m.duration_s, 0.0);
  EXPECT_NEAR(m.output_throughput * m.duration_s, 96.0, 1e-6);
  EXPECT_NEAR(m.request_throughput * m.duration_s, 8.0, 1e-9);
  EXPECT_LE(m.ttft_ms.median, m.ttft_ms.p99);
  EXPECT_LE(m.itl_ms.p90, m.itl_ms.p99);
  EXPECT_GE(m.e2el_ms.mean, m.ttft_ms.mean);
  ExpectInUnit(m.tbt_attainment, "tbt");
  ExpectInUnit(m.tbt_attainment_deposit, "tbt deposit");
  ExpectInUnit(m.tpot_attainment, "tpot");
  EXPECT_GE(m.tbt_attainment_deposit, m.tbt_attainment);  // the deposit only ever helps
  ASSERT_TRUE(m.request_goodput.has_value());
  EXPECT_DOUBLE_EQ(*m.goodput_fraction, 1.0);
  // The JSON and the table carry the same run.
  const nlohmann::json j = BenchRunToJson(*run, o);
  EXPECT_EQ(j["completed"], 8);
  EXPECT_EQ(j["itls"].size(), 8u);
  EXPECT_EQ(j["itls"][0].size(), 11u);
  EXPECT_EQ(j["total_output_tokens"], 96);
  EXPECT_TRUE(j.contains("p99_itl_ms"));
  EXPECT_TRUE(j.contains("tbt_attainment_deposit"));
  const std::string table = FormatBenchTable(*run, o);
  EXPECT_NE(table.find("Successful requests:                    8\n"), std::string::npos) << table;
}

TEST(BenchLiveTest, ChatEndpoint) {
  LiveServer s;
  BenchServeOptions o = Options(s, 3, 8, 5);
  o.endpoint = BenchEndpoint::kChatCompletions;
  StatusOr<BenchRun> run = RunBenchServe(o, Bundled());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->summary.completed, 3);
  EXPECT_EQ(run->summary.total_output_tokens, 15);
  for (const RequestOutcome& r : run->load.outcomes) {
    EXPECT_EQ(r.chunk_s.size(), 5u) << r.error;
    EXPECT_GT(r.prompt_tokens, 0);  // the server's count of the templated prompt
  }
}

TEST(BenchLiveTest, FullQueueRequestsAreCountedAsFailed) {
  LiveServer s({.max_batch = 1, .max_queue = 1});
  BenchServeOptions o = Options(s, 10, 8, 200);  // long enough that the queue is still full as the rest arrive
  o.request_rate.reset();  // all at once
  StatusOr<BenchRun> run = RunBenchServe(o, Bundled());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const BenchSummary& m = run->summary;
  EXPECT_GE(m.completed, 2);
  EXPECT_GT(m.failed, 0);
  EXPECT_EQ(m.completed + m.failed, 10);
  for (const RequestOutcome& r : run->load.outcomes) {
    if (!r.success) {
      EXPECT_NE(r.error.find("HTTP 429"), std::string::npos) << r.error;
    }
  }
  EXPECT_EQ(m.total_output_tokens, 200 * m.completed);
  EXPECT_LT(m.tbt_attainment, 1.0);  // failed requests are charged for their missing tokens
}

TEST(BenchLiveTest, ConcurrencyLimit) {
  LiveServer s({.max_batch = 4, .max_queue = 64});
  BenchServeOptions o = Options(s, 6, 8, 6);
  o.request_rate.reset();
  o.max_concurrency = 2;
  StatusOr<BenchRun> run = RunBenchServe(o, Bundled());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->summary.completed, 6);
  EXPECT_LE(run->load.max_concurrent, 2);
}

int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(BenchLiveTest, UnreachableServerAndUnknownModelAreOneLineErrors) {
  BenchServeOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  o.num_prompts = 1;
  StatusOr<BenchRun> run = RunBenchServe(o, Bundled());
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(run.status().message().find("cannot reach"), std::string::npos) << run.status().message();
  EXPECT_EQ(run.status().message().find('\n'), std::string::npos);

  LiveServer s;
  o = Options(s, 1, 4, 2);
  o.model = "gpt-9";
  run = RunBenchServe(o, Bundled());
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), StatusCode::kNotFound);
  EXPECT_NE(run.status().message().find("stories260K"), std::string::npos) << run.status().message();
}

}  // namespace
}  // namespace orbitflow
