#include "bench/request_set.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>

#include <gtest/gtest.h>

#include "model/loader.h"

namespace orbitflow {
namespace {

Tokenizer Bundled() {
  return LoadTokenizer(std::string(ORBITFLOW_REPO_DIR) + "/models/stories260K/tok512.bin").value();
}

ServerInfo Server(std::optional<int64_t> max_model_len = std::nullopt, std::optional<int32_t> vocab = std::nullopt) {
  ServerInfo info;
  info.model = "m";
  info.max_model_len = max_model_len;
  info.vocab_size = vocab;
  return info;
}

BenchServeOptions Random(int64_t n, int64_t in, int64_t out) {
  BenchServeOptions o;
  o.num_prompts = n;
  o.input_len = in;
  o.output_len = out;
  return o;
}

TEST(RequestSetTest, RandomPromptsHaveExactLengthsAndOrdinaryTokens) {
  const Tokenizer tok = Bundled();
  StatusOr<RequestSet> set = BuildRequestSet(Random(5, 7, 3), Server(), tok);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->requests.size(), 5u);
  for (const BenchRequest& r : set->requests) {
    EXPECT_EQ(r.input_len, 7);
    EXPECT_EQ(r.output_len, 3);
    ASSERT_EQ(r.prompt_ids.size(), 7u);
    for (int32_t id : r.prompt_ids) EXPECT_EQ(tok.type(id), TokenType::kNormal) << id;
    EXPECT_FALSE(r.prompt_text.empty());
    EXPECT_EQ(r.arrival_s, 0.0);  // rate inf by default
  }
  EXPECT_NE(set->requests[0].prompt_ids, set->requests[1].prompt_ids);
}

TEST(RequestSetTest, SeededAndLimitedToTheServerVocabulary) {
  const Tokenizer tok = Bundled();
  BenchServeOptions o = Random(3, 50, 3);
  const auto a = BuildRequestSet(o, Server(std::nullopt, 300), tok).value();
  const auto b = BuildRequestSet(o, Server(std::nullopt, 300), tok).value();
  for (size_t i = 0; i < a.requests.size(); ++i) {
    EXPECT_EQ(a.requests[i].prompt_ids, b.requests[i].prompt_ids);
    for (int32_t id : a.requests[i].prompt_ids) EXPECT_LT(id, 300);
  }
  o.seed = 1;
  EXPECT_NE(BuildRequestSet(o, Server(std::nullopt, 300), tok)->requests[0].prompt_ids, a.requests[0].prompt_ids);
}

TEST(RequestSetTest, TooLongForTheServerIsAnError) {
  StatusOr<RequestSet> set = BuildRequestSet(Random(1, 500, 100), Server(512), Bundled());
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find("512"), std::string::npos) << set.status().message();
}

TEST(RequestSetTest, Arrivals) {
  const auto poisson = BenchArrivals(2000, 10.0, 1.0, 3).value();
  EXPECT_EQ(poisson.front(), 0.0);
  for (size_t i = 1; i < poisson.size(); ++i) ASSERT_GE(poisson[i], poisson[i - 1]);
  EXPECT_NEAR(poisson.back() / 1999, 0.1, 0.01);  // mean gap 1 / rate
  const auto bursty = BenchArrivals(2000, 10.0, 0.25, 3).value();  // gamma shape 0.25: CV 2
  EXPECT_NEAR(bursty.back() / 1999, 0.1, 0.02);
  std::vector<double> gaps;
  for (size_t i = 1; i < bursty.size(); ++i) gaps.push_back(bursty[i] - bursty[i - 1]);
  double m = 0, v = 0;
  for (double g : gaps) m += g;
  m /= gaps.size();
  for (double g : gaps) v += (g - m) * (g - m);
  EXPECT_NEAR(std::sqrt(v / gaps.size()) / m, 2.0, 0.3);
  const std::vector<double> at_once = BenchArrivals(4, INFINITY, 1.0, 0).value();
  for (double t : at_once) EXPECT_EQ(t, 0.0);
}

TEST(RequestSetTest, TraceReplaysTimesAndDropsWhatDoesNotFit) {
  const std::string path = ::testing::TempDir() + "/bench_trace.jsonl";
  {
    std::ofstream f(path);
    f << R"({"timestamp": 1000, "input_length": 10, "output_length": 5, "hash_ids": []})" << "\n"
      << R"({"timestamp": 2000, "input_length": 600, "output_length": 5, "hash_ids": []})" << "\n"
      << R"({"timestamp": 3500, "input_length": 20, "output_length": 8, "hash_ids": []})" << "\n";
  }
  BenchServeOptions o;
  o.trace_path = path;
  const Tokenizer tok = Bundled();
  StatusOr<RequestSet> set = BuildRequestSet(o, Server(512), tok);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->dropped_too_long, 1);
  ASSERT_EQ(set->requests.size(), 2u);
  EXPECT_DOUBLE_EQ(set->requests[1].arrival_s, 2.5);
  EXPECT_EQ(set->requests[1].input_len, 20);
  EXPECT_EQ(set->requests[1].prompt_ids.size(), 20u);
  EXPECT_EQ(set->requests[1].output_len, 8);
  o.request_rate = INFINITY;  // a rate replaces the trace's times
  o.num_prompts = 1;
  set = BuildRequestSet(o, Server(512), tok);
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->requests.size(), 1u);
  std::remove(path.c_str());
}

TEST(RequestSetTest, BadTraceNamesTheFile) {
  const std::string path = ::testing::TempDir() + "/bench_bad.csv";
  {
    std::ofstream f(path);
    f << "TIMESTAMP,ContextTokens,GeneratedTokens\nnot-a-time,1,x\n";
  }
  BenchServeOptions o;
  o.trace_path = path;
  StatusOr<RequestSet> set = BuildRequestSet(o, Server(), Bundled());
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find("bench_bad.csv"), std::string::npos) << set.status().message();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace orbitflow
