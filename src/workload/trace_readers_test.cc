// The trace readers against the real files in the shared data folder (counts and statistics
// from its READMEs) and against small hand-made files with hand-computed arrivals.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "workload/trace_readers.h"
#include "workload/workload.h"

namespace orbitflow {
namespace {

using ::testing::HasSubstr;

std::string SharedTrace(const std::string& rel) {
  return std::string(ORBITFLOW_SHARED_DATA_DIR) + "/traces/" + rel;
}

const char kAzure[] = "azure_llm_2023/AzureLLMInferenceTrace_conv.csv";
const char kMooncake[] = "mooncake_fast25/conversation_trace.jsonl";
const char kShareGpt[] = "sarathi_length_stats/sharegpt_8k_filtered_stats_llama2_tokenizer.csv";
const char kArxiv[] =
    "vidur_length_stats/arxiv_summarization_stats_llama2_tokenizer_filtered_v2.csv";

int64_t MaxInput(const Workload& w) {
  int64_t m = 0;
  for (const auto& r : w.requests) m = std::max(m, r.input_tokens);
  return m;
}
int64_t MaxOutput(const Workload& w) {
  int64_t m = 0;
  for (const auto& r : w.requests) m = std::max(m, r.output_tokens);
  return m;
}
double MeanInput(const Workload& w) {
  double s = 0;
  for (const auto& r : w.requests) s += static_cast<double>(r.input_tokens);
  return s / static_cast<double>(w.requests.size());
}
double MeanOutput(const Workload& w) {
  double s = 0;
  for (const auto& r : w.requests) s += static_cast<double>(r.output_tokens);
  return s / static_cast<double>(w.requests.size());
}

// A file in the test's temp dir, removed at the end of the test.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& content)
      : path_(::testing::TempDir() + "/" + name) {
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(AzureTrace, RealFileParses) {
  const auto t0 = std::chrono::steady_clock::now();
  auto w = ReadTrace(SharedTrace(kAzure), TraceFormat::kAzure);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  RecordProperty("read_seconds", std::to_string(secs));
  EXPECT_EQ(w->requests.size(), 19366u);
  EXPECT_EQ(w->unit, ArrivalUnit::kSeconds);
  EXPECT_EQ(w->name, "AzureLLMInferenceTrace_conv");
  EXPECT_TRUE(ValidateWorkload(*w).ok());
  // First rows: 18:15:46.6805900 (374, 44), 18:15:50.9951690 (396, 109).
  EXPECT_EQ(w->requests[0].arrival, 0.0);
  EXPECT_EQ(w->requests[0].input_tokens, 374);
  EXPECT_EQ(w->requests[0].output_tokens, 44);
  EXPECT_DOUBLE_EQ(w->requests[1].arrival, 4.314579);
  EXPECT_EQ(w->requests[1].input_tokens, 396);
  // README: span 3,502 s; input max 14050, mean 1155; output max 1000, mean 211.
  EXPECT_NEAR(w->requests.back().arrival, 3502.0, 1.0);
  EXPECT_EQ(MaxInput(*w), 14050);
  EXPECT_EQ(MaxOutput(*w), 1000);
  EXPECT_NEAR(MeanInput(*w), 1155.0, 0.5);
  EXPECT_NEAR(MeanOutput(*w), 211.0, 0.5);
  // The last row (no trailing newline) is read: `...,197,183`.
  EXPECT_EQ(w->requests.back().input_tokens, 197);
  EXPECT_EQ(w->requests.back().output_tokens, 183);
}

TEST(AzureTrace, HandMadeArrivals) {
  // Out of order on purpose: arrivals count from the earliest row; CRLF; day and year rollover.
  const std::string csv =
      "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
      "2023-12-31 23:59:59.5,10,1\r\n"
      "2023-12-31 23:59:58.25,20,2\r\n"
      "\r\n"
      "2024-01-01 00:00:00.0000001,30,3\r\n"
      "2024-03-01 00:00:00,40,4";
  auto w = ParseTrace(csv, "t.csv", TraceFormat::kAzure);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w->requests.size(), 4u);
  EXPECT_EQ(w->requests[0].input_tokens, 20);
  EXPECT_EQ(w->requests[0].arrival, 0.0);
  EXPECT_EQ(w->requests[1].input_tokens, 10);
  EXPECT_EQ(w->requests[1].arrival, 1.25);
  EXPECT_EQ(w->requests[2].arrival, 1.7500001);
  // 2024 is a leap year: Jan 31 + Feb 29 days after 00:00:00, plus the 1.75 s before it.
  EXPECT_EQ(w->requests[3].arrival, 60 * 86400 + 1.75);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(w->requests[i].index, i);
}

TEST(AzureTrace, ColumnsFoundByName) {
  auto w = ParseTrace("GeneratedTokens,Extra,TIMESTAMP,ContextTokens\n7,x,2023-11-16 18:15:46,9\n",
                      "t.csv", TraceFormat::kAzure);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->requests[0].input_tokens, 9);
  EXPECT_EQ(w->requests[0].output_tokens, 7);
}

TEST(AzureTrace, ErrorsNameFileLineAndField) {
  const std::string head = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
  const std::string good = "2023-11-16 18:15:46.6805900,374,44\n";
  auto bad_int =
      ParseTrace(head + good + "2023-11-16 18:15:47,abc,3\n", "trace.csv", TraceFormat::kAzure);
  ASSERT_FALSE(bad_int.ok());
  EXPECT_EQ(bad_int.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_int.status().message(),
              HasSubstr("trace.csv:3: field 'ContextTokens': expected a positive integer"));
  EXPECT_THAT(bad_int.status().message(), HasSubstr("got 'abc'"));

  auto bad_time = ParseTrace(head + "2023-02-30 00:00:00,1,1\n", "trace.csv", TraceFormat::kAzure);
  EXPECT_THAT(bad_time.status().message(), HasSubstr("trace.csv:2: field 'TIMESTAMP'"));
  auto short_row = ParseTrace(head + "2023-11-16 18:15:46,1\n", "trace.csv", TraceFormat::kAzure);
  EXPECT_THAT(short_row.status().message(), HasSubstr("trace.csv:2: expected 3"));
  auto zero = ParseTrace(head + "2023-11-16 18:15:46,1,0\n", "trace.csv", TraceFormat::kAzure);
  EXPECT_THAT(zero.status().message(), HasSubstr("field 'GeneratedTokens'"));
  auto no_column = ParseTrace("TIMESTAMP,ContextTokens\n", "trace.csv", TraceFormat::kAzure);
  EXPECT_THAT(no_column.status().message(), HasSubstr("no column 'GeneratedTokens'"));
  auto header_only = ParseTrace(head, "trace.csv", TraceFormat::kAzure);
  EXPECT_THAT(header_only.status().message(), HasSubstr("no requests"));
  EXPECT_FALSE(ParseTrace("", "trace.csv", TraceFormat::kAzure).ok());
}

TEST(MooncakeTrace, RealFileParses) {
  auto w = ReadTrace(SharedTrace(kMooncake), TraceFormat::kMooncake);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->requests.size(), 12031u);
  EXPECT_TRUE(ValidateWorkload(*w).ok());
  EXPECT_EQ(w->requests[0].input_tokens, 6758);
  EXPECT_EQ(w->requests[0].output_tokens, 500);
  EXPECT_EQ(w->requests[0].prefix_hash_ids.size(), 14u);
  // README: span 3,537 s (last timestamp 3536999 ms); input max 126195; output max 2000;
  // 288,500 prefix blocks of which 182,790 unique.
  EXPECT_EQ(w->requests.back().arrival, 3536.999);
  EXPECT_EQ(MaxInput(*w), 126195);
  EXPECT_EQ(MaxOutput(*w), 2000);
  EXPECT_NEAR(MeanInput(*w), 12035.0, 0.5);
  size_t blocks = 0;
  std::set<int64_t> unique;
  for (const auto& r : w->requests) {
    blocks += r.prefix_hash_ids.size();
    unique.insert(r.prefix_hash_ids.begin(), r.prefix_hash_ids.end());
  }
  EXPECT_EQ(blocks, 288500u);
  EXPECT_EQ(unique.size(), 182790u);
}

TEST(MooncakeTrace, HandMadeArrivals) {
  const std::string jsonl =
      "{\"timestamp\": 2500, \"input_length\": 10, \"output_length\": 2, \"hash_ids\": [0]}\n"
      "\n"
      "{\"timestamp\": 1000, \"input_length\": 20, \"output_length\": 3}\n"
      "{\"timestamp\": 1250.5, \"input_length\": 30.0, \"output_length\": 4, \"extra\": true}";
  auto w = ParseTrace(jsonl, "m.jsonl", TraceFormat::kMooncake);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w->requests.size(), 3u);
  EXPECT_EQ(w->requests[0].arrival, 0.0);
  EXPECT_EQ(w->requests[0].input_tokens, 20);
  EXPECT_EQ(w->requests[1].arrival, 0.2505);
  EXPECT_EQ(w->requests[1].input_tokens, 30);
  EXPECT_EQ(w->requests[2].arrival, 1.5);
  EXPECT_EQ(w->requests[2].prefix_hash_ids, std::vector<int64_t>{0});
}

TEST(MooncakeTrace, ErrorsNameFileLineAndField) {
  const std::string good = "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1}\n";
  auto bad = ParseTrace(good + good +
                            "{\"timestamp\": 1, \"input_length\": \"x\", "
                            "\"output_length\": 1}\n",
                        "m.jsonl", TraceFormat::kMooncake);
  EXPECT_THAT(bad.status().message(), HasSubstr("m.jsonl:3: field 'input_length'"));
  auto missing = ParseTrace(good + "{\"timestamp\": 1, \"input_length\": 5}\n", "m.jsonl",
                            TraceFormat::kMooncake);
  EXPECT_THAT(missing.status().message(), HasSubstr("m.jsonl:2: missing field 'output_length'"));
  auto syntax = ParseTrace(good + "{\"timestamp\": 1,\n", "m.jsonl", TraceFormat::kMooncake);
  EXPECT_THAT(syntax.status().message(), HasSubstr("m.jsonl:2: invalid JSON"));
  auto negative = ParseTrace("{\"timestamp\": -1, \"input_length\": 5, \"output_length\": 1}",
                             "m.jsonl", TraceFormat::kMooncake);
  EXPECT_THAT(negative.status().message(), HasSubstr("field 'timestamp'"));
  auto huge = ParseTrace("{\"timestamp\": 0, \"input_length\": 1e300, \"output_length\": 1}",
                         "m.jsonl", TraceFormat::kMooncake);
  EXPECT_THAT(huge.status().message(), HasSubstr("field 'input_length'"));
  auto ids = ParseTrace(
      "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1, "
      "\"hash_ids\": [1, -2]}",
      "m.jsonl", TraceFormat::kMooncake);
  EXPECT_THAT(ids.status().message(), HasSubstr("field 'hash_ids'"));
}

TEST(LengthsTrace, RealFilesParse) {
  ArrivalProcessOptions poisson;
  poisson.rate_per_s = 4.0;
  auto sharegpt = ReadTrace(SharedTrace(kShareGpt), TraceFormat::kLengths, {}, poisson);
  ASSERT_TRUE(sharegpt.ok()) << sharegpt.status().ToString();
  EXPECT_EQ(sharegpt->requests.size(), 30731u);
  EXPECT_EQ(sharegpt->requests[0].input_tokens, 74);
  EXPECT_EQ(sharegpt->requests[0].output_tokens, 918);
  EXPECT_EQ(MaxInput(*sharegpt), 8141);
  EXPECT_EQ(MaxOutput(*sharegpt), 1024);
  EXPECT_TRUE(ValidateWorkload(*sharegpt).ok());
  // 30,730 exponential gaps of mean 0.25 s.
  EXPECT_NEAR(sharegpt->requests.back().arrival / 30730.0, 0.25, 0.01);

  auto arxiv = ReadTrace(SharedTrace(kArxiv), std::nullopt, {}, poisson);  // format guessed
  ASSERT_TRUE(arxiv.ok()) << arxiv.status().ToString();
  EXPECT_EQ(arxiv->requests.size(), 28257u);
  EXPECT_EQ(arxiv->requests[0].input_tokens, 3772);
  EXPECT_EQ(MaxInput(*arxiv), 4054);
  EXPECT_EQ(MaxOutput(*arxiv), 4056);
  EXPECT_NEAR(MeanInput(*arxiv), 2588.0, 0.5);
}

TEST(LengthsTrace, ArrivalsDrawnForKeptRequests) {
  const std::string csv =
      "num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio\n"
      "10,5,15,2\n900,200,1100,4.5\n20,6,26,3.3\n30,7,37,4.2\n";
  ArrivalProcessOptions gamma{ArrivalProcessOptions::kGamma, 2.0, 0.5, 7};
  TraceOptions opts;
  opts.max_context = 100;  // drops the 1100-token row
  auto w = ParseTrace(csv, "l.csv", TraceFormat::kLengths, opts, gamma);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w->requests.size(), 3u);
  auto expected = GenerateArrivals(3, gamma);
  ASSERT_TRUE(expected.ok());
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(w->requests[i].arrival, (*expected)[i]);
  EXPECT_EQ(w->requests[1].input_tokens, 20);
  EXPECT_EQ(w->requests[1].index, 1);
  auto bad = ParseTrace("num_prefill_tokens,num_decode_tokens\n1,2\n3,-4\n", "l.csv",
                        TraceFormat::kLengths);
  EXPECT_THAT(bad.status().message(), HasSubstr("l.csv:3: field 'num_decode_tokens'"));
  auto bad_rate = ParseTrace(csv, "l.csv", TraceFormat::kLengths, {},
                             ArrivalProcessOptions{ArrivalProcessOptions::kPoisson, 0.0, 1, 0});
  EXPECT_FALSE(bad_rate.ok());
}

TEST(TraceOptions, SelectionAndRateScaleExact) {
  const std::string jsonl =
      "{\"timestamp\": 0, \"input_length\": 100, \"output_length\": 10}\n"
      "{\"timestamp\": 1000, \"input_length\": 500, \"output_length\": 600}\n"
      "{\"timestamp\": 3000, \"input_length\": 200, \"output_length\": 20}\n"
      "{\"timestamp\": 7000, \"input_length\": 300, \"output_length\": 30}\n";
  TraceOptions o;
  o.rate_scale = 4.0;
  o.max_context = 1000;  // drops the 1100-token request, keeps its neighbours' times
  o.max_requests = 2;
  auto w = ParseTrace(jsonl, "m.jsonl", TraceFormat::kMooncake, o);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w->requests.size(), 2u);
  EXPECT_EQ(w->requests[0].arrival, 0.0);
  EXPECT_EQ(w->requests[1].arrival, 0.75);  // 3 s / 4
  EXPECT_EQ(w->requests[1].input_tokens, 200);
  EXPECT_EQ(w->requests[1].index, 1);

  o = {};
  o.max_context = 50;
  EXPECT_THAT(ParseTrace(jsonl, "m.jsonl", TraceFormat::kMooncake, o).status().message(),
              HasSubstr("max_context"));
  o = {};
  o.rate_scale = 0.0;
  EXPECT_FALSE(ParseTrace(jsonl, "m.jsonl", TraceFormat::kMooncake, o).ok());
  o = {};
  o.max_requests = 0;
  EXPECT_FALSE(ParseTrace(jsonl, "m.jsonl", TraceFormat::kMooncake, o).ok());
}

TEST(ReadTrace, MissingFileIsNotFound) {
  auto w = ReadTrace("no/such/trace.csv", TraceFormat::kAzure);
  EXPECT_EQ(w.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(w.status().message(), HasSubstr("no/such/trace.csv"));
  EXPECT_FALSE(ReadTrace(::testing::TempDir(), std::nullopt).ok());  // a directory
}

TEST(ReadTrace, FormatNamesAndGuess) {
  EXPECT_EQ(*ParseTraceFormat("azure"), TraceFormat::kAzure);
  EXPECT_EQ(*ParseTraceFormat("mooncake"), TraceFormat::kMooncake);
  EXPECT_EQ(*ParseTraceFormat("lengths"), TraceFormat::kLengths);
  EXPECT_EQ(*ParseTraceFormat("orbitflow"), TraceFormat::kOrbitflow);
  EXPECT_THAT(ParseTraceFormat("csv").status().message(), HasSubstr("azure, mooncake"));
  for (auto f : {TraceFormat::kAzure, TraceFormat::kMooncake, TraceFormat::kLengths,
                 TraceFormat::kOrbitflow}) {
    EXPECT_EQ(*ParseTraceFormat(TraceFormatName(f)), f);
  }
  EXPECT_EQ(*GuessTraceFormat("a.jsonl", ""), TraceFormat::kMooncake);
  EXPECT_EQ(*GuessTraceFormat("a.json", ""), TraceFormat::kOrbitflow);
  EXPECT_EQ(*GuessTraceFormat("a.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n"),
            TraceFormat::kAzure);
  EXPECT_EQ(*GuessTraceFormat("a.csv", "num_prefill_tokens,num_decode_tokens\n"),
            TraceFormat::kLengths);
  EXPECT_EQ(*GuessTraceFormat("a.txt", "\n{\"timestamp\": 0}\n"), TraceFormat::kMooncake);
  EXPECT_EQ(*GuessTraceFormat("a.txt", "{\n  \"requests\": {}\n}"), TraceFormat::kOrbitflow);
  EXPECT_FALSE(GuessTraceFormat("a.txt", "hello").ok());

  TempFile azure("guess_azure.csv",
                 "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                 "2023-11-16 18:15:46,5,6\n2023-11-16 18:15:48.5,7,8");
  auto w = ReadTrace(azure.path(), std::nullopt);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->requests[1].arrival, 2.5);
  EXPECT_EQ(w->name, "guess_azure");
  EXPECT_EQ(w->source, azure.path());
}

}  // namespace
}  // namespace orbitflow
