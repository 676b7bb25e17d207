#include "metrics/csv_writer.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "metrics/summary_fields.h"

namespace orbitflow {
namespace {

namespace fs = std::filesystem;

// A fresh folder per test, removed afterwards.
class CsvWriterTest : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(testing::TempDir()) / (std::string("of_metrics_") + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

std::string ReadAll(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Splits CSV text into rows of fields (RFC 4180 quoting; no newlines inside fields here).
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        fields.emplace_back();
      } else {
        fields.back() += c;
      }
    }
    rows.push_back(std::move(fields));
  }
  return rows;
}

TEST_F(CsvWriterTest, RequestsCsvHasReferenceColumnsThenOurs) {
  RequestRecord done;
  done.id = RequestId(7);
  done.prompt_tokens = 10;
  done.expected_output_tokens = 4;
  done.slo = Seconds(1);
  done.arrival = Seconds(0.5);
  done.first_scheduled = Seconds(0.75);
  done.first_token = Seconds(1);
  done.token_times = {Seconds(1), Seconds(1.5), Seconds(2), Seconds(3.5)};
  done.finished = Seconds(3.5);
  done.reason = FinishReason::kLength;
  done.pauses = {{Seconds(2), Seconds(3)}};
  done.stall_count = 2;
  done.stall_time = Seconds(0.25);
  done.solver_time = Seconds(0.125);
  done.solver_estimated_time = Seconds(2.5);
  done.device_layer_fraction_sum = 1.5;
  done.device_layer_fraction_steps = 3;
  done.deposit_peak = 1;
  done.deposit_releases = 1;

  RequestRecord failed;  // nothing produced; fields that do not exist stay empty
  failed.id = RequestId(8);
  failed.expected_output_tokens = 2;
  failed.slo = Seconds(0.5);
  failed.arrival = Seconds(1);
  failed.reason = FinishReason::kFailed;
  failed.failure_message = "out of memory, \"device\"";

  const fs::path path = dir_ / "requests.csv";
  const std::vector<RequestRecord> records = {done, failed};
  ASSERT_TRUE(WriteRequestsCsv(path, records).ok());
  const auto rows = ParseCsv(ReadAll(path));
  ASSERT_EQ(rows.size(), 3u);
  const std::vector<std::string> header = {
      "request_id", "arrival_time", "first_scheduled_time", "finished_time",
      "time_to_first_token", "slo_threshold", "slo_violations", "stall_times", "stall_duration",
      "decode_length", "end_to_end_time", "decode_time", "time_per_output_token",
      "time_between_tokens", "finish_reason", "solver_time", "solver_estimated_time",
      "expected_output_length", "pauses", "pause_duration", "violations_with_deposit",
      "device_layer_fraction_mean", "deposit_peak", "deposit_releases", "prompt_tokens",
      "missing_tokens", "failure_message"};
  EXPECT_EQ(rows[0], header);
  // Gaps 0.5 0.5 1.5 against S = 1: one late without deposit, none with it.
  const std::vector<std::string> first = {
      "7", "0.5", "0.75", "3.5", "0.5", "1", "1", "2", "0.25", "4", "3", "2.5",
      "0.8333333333333334", "0.5;0.5;1.5", "length", "0.125", "2.5", "4", "1", "1", "0", "0.5",
      "1", "1", "10", "0", ""};
  EXPECT_EQ(rows[1], first);
  const std::vector<std::string> second = {
      "8", "1", "", "", "", "0.5", "2", "0", "0", "0", "", "", "", "", "failed", "0", "0", "2",
      "0", "0", "2", "0", "0", "0", "0", "2", "out of memory, \"device\""};
  EXPECT_EQ(rows[2], second);
  // The gap list is one quoted field.
  EXPECT_NE(ReadAll(path).find(",\"0.5;0.5;1.5\","), std::string::npos);
}

TEST_F(CsvWriterTest, SummaryCsvStartsWithTheHeadlineColumns) {
  SloSummary a;
  a.requests = 3;
  a.completed = 2;
  a.tbt_attainment = 0.5;
  a.tbt_attainment_deposit = 0.75;
  a.tpot_attainment = 0.25;
  a.p95_tbt_s = 1.375;
  a.p95_tbt_ratio = 1.875;
  a.throughput_tok_s = 12.5;
  a.device_kv_util = 0.75;
  a.solver_overhead_pct = 2;
  a.pause_time_s = 1.6;
  SloSummary b;
  b.requests = 1;
  const std::vector<std::pair<std::string, SloSummary>> rows = {{"orbitflow", a},
                                                                 {"flexgen, fixed d=1", b}};
  const fs::path path = dir_ / "summary.csv";
  ASSERT_TRUE(WriteSummaryCsv(path, rows).ok());
  const auto csv = ParseCsv(ReadAll(path));
  ASSERT_EQ(csv.size(), 3u);
  const std::vector<std::string> headline = {
      "policy", "requests", "completed", "tbt_attainment", "tbt_attainment_deposit",
      "tpot_attainment", "p95_tbt_s", "p95_tbt_ratio", "throughput_tok_s", "device_kv_util",
      "solver_overhead_pct"};
  ASSERT_EQ(csv[0].size(), SummaryFields().size() + 1);
  EXPECT_EQ(std::vector<std::string>(csv[0].begin(), csv[0].begin() + 11), headline);
  EXPECT_EQ(csv[0].back(), "pause_time_s");
  const std::vector<std::string> first = {"orbitflow", "3", "2", "0.5", "0.75", "0.25",
                                          "1.375", "1.875", "12.5", "0.75", "2"};
  EXPECT_EQ(std::vector<std::string>(csv[1].begin(), csv[1].begin() + 11), first);
  EXPECT_EQ(csv[1].back(), "1.6");
  EXPECT_EQ(csv[2][0], "flexgen, fixed d=1");  // quoted on disk, one field back
  EXPECT_EQ(csv[2][1], "1");
  EXPECT_EQ(csv[2].size(), csv[0].size());
}

TEST_F(CsvWriterTest, ReplacesAnExistingFileAndLeavesNoTemporary) {
  const fs::path path = dir_ / "out.csv";
  ASSERT_TRUE(WriteFileAtomically(path, "old contents that are longer\n").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "new\n").ok());
  EXPECT_EQ(ReadAll(path), "new\n");
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 1);
}

TEST_F(CsvWriterTest, ErrorNamesThePath) {
  const fs::path path = dir_ / "no_such_folder" / "summary.csv";
  const Status st = WriteSummaryCsv(path, {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(path.string()), std::string::npos) << st.ToString();
}

TEST(CsvEscapeTest, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvEscape("plain"), "plain");
  EXPECT_EQ(CsvEscape("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvEscape("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvEscape("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvEscape(""), "");
}

TEST(SummaryFieldsTest, EveryFieldOnceWithJsonView) {
  // Every SloSummary member is 8 bytes; if a field is added, add it to SummaryFields() too.
  EXPECT_EQ(SummaryFields().size() * 8, sizeof(SloSummary));
  std::set<std::string_view> names;
  for (const SummaryField& f : SummaryFields()) EXPECT_TRUE(names.insert(f.name).second) << f.name;
  SloSummary s;
  s.requests = 4;
  s.tbt_attainment = 0.5;
  const nlohmann::json j = SummaryToJson(s);
  EXPECT_EQ(j.size(), SummaryFields().size());
  EXPECT_EQ(j.at("requests").get<int64_t>(), 4);
  EXPECT_EQ(j.at("tbt_attainment").get<double>(), 0.5);
}

}  // namespace
}  // namespace orbitflow
