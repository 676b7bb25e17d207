#include "bench/bench_options.h"

#include <cmath>

#include <gtest/gtest.h>

#include "bench/server_probe.h"

namespace orbitflow {
namespace {

TEST(BenchOptionsTest, Goodput) {
  std::vector<std::string> items = {"ttft:500", "e2el:2000.5"};
  StatusOr<GoodputThresholds> g = ParseGoodput(items);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->ttft_ms, 500);
  EXPECT_EQ(g->e2el_ms, 2000.5);
  EXPECT_FALSE(g->tpot_ms.has_value());
  for (std::vector<std::string> bad : {std::vector<std::string>{"ttft"}, {"ttft:x"}, {"ttft:-1"}, {"itl:5"},
                                       {"tpot:5", "tpot:6"}}) {
    EXPECT_FALSE(ParseGoodput(bad).ok()) << bad[0];
  }
}

TEST(BenchOptionsTest, RequestRateAndEndpoint) {
  EXPECT_TRUE(std::isinf(*ParseRequestRate("inf")));
  EXPECT_EQ(*ParseRequestRate("2.5"), 2.5);
  for (const char* bad : {"0", "-1", "fast", "", "nan"}) EXPECT_FALSE(ParseRequestRate(bad).ok()) << bad;
  EXPECT_EQ(*ParseBenchEndpoint("/v1/chat/completions"), BenchEndpoint::kChatCompletions);
  EXPECT_FALSE(ParseBenchEndpoint("/v1/embeddings").ok());
}

TEST(BenchOptionsTest, ValidateNamesTheFlag) {
  BenchServeOptions o;
  EXPECT_TRUE(ValidateBenchOptions(o).ok());
  o.input_len = 0;
  EXPECT_NE(ValidateBenchOptions(o).message().find("--input-len"), std::string::npos);
  o = {};
  o.burstiness = 0;
  EXPECT_NE(ValidateBenchOptions(o).message().find("--burstiness"), std::string::npos);
  o = {};
  o.max_concurrency = 0;
  EXPECT_NE(ValidateBenchOptions(o).message().find("--max-concurrency"), std::string::npos);
}

TEST(BenchOptionsTest, ServerUrl) {
  StatusOr<ServerTarget> t = ParseServerUrl("http://127.0.0.1:8000/");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->scheme_host_port, "http://127.0.0.1:8000");
  EXPECT_EQ(t->path_prefix, "");
  t = ParseServerUrl("https://example.com/api/");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->scheme_host_port, "https://example.com");
  EXPECT_EQ(t->path_prefix, "/api");
  for (const char* bad : {"127.0.0.1:8000", "ftp://x", "http://", "http://:80", "http://h:99999", "http://h:8x"}) {
    EXPECT_FALSE(ParseServerUrl(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace orbitflow
