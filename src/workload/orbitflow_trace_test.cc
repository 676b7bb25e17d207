// The OrbitFlow reference trace reader and the named workloads built on its files: every file
// in the shared data against its README table, the repo copies and the embedded bytes against
// the originals, and the load-multiplier selection and scaling.
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "workload/embedded_traces.h"
#include "workload/named_workloads.h"
#include "workload/trace_readers.h"
#include "workload/workload.h"

namespace orbitflow {
namespace {

using ::testing::HasSubstr;

std::string SharedPaperTrace(const std::string& file) {
  return std::string(ORBITFLOW_SHARED_DATA_DIR) + "/traces/orbitflow_paper/" + file;
}
std::string RepoPaperTrace(const std::string& file) {
  return std::string(ORBITFLOW_REPO_DIR) + "/data/traces/orbitflow_paper/" + file;
}
std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One row of the README's "Contents" table.
struct PaperFile {
  const char* file;
  size_t requests;
  int batch_size;
  int64_t max_model_len;
  int64_t device_blocks;
  int64_t peak_blocks;
  double lambda;
  double mean_in, mean_out;  // rounded to 0.1 in the README
  double last_arrival;
};

const PaperFile kPaperFiles[] = {
    {"32k_lambda1.0x_cv1.json", 52, 4, 32384, 561, 2435, 0.0005551996583386718, 1851.9, 1801.2,
     122589},
    {"32k_lambda2.0x_cv1.json", 52, 4, 32384, 611, 2655, 0.0005864937262089384, 1660.9, 3410.1,
     92525},
    {"32k_lambda2.5x_cv1.json", 52, 4, 32384, 611, 2655, 0.000733117157761173, 1660.9, 3410.1,
     60063},
    {"32k_lambda3.0x_cv1.json", 52, 4, 32384, 561, 2435, 0.0016655989750160153, 1851.9, 1801.2,
     26627},
    {"32k_lambda4.5x_cv1.json", 52, 4, 32384, 641, 2785, 0.002008618173702553, 5302.7, 2240.3,
     24126},
    {"32k_lambda5.0x_cv1.json", 52, 4, 32384, 641, 2785, 0.0022317979707806145, 5302.7, 2240.3,
     20486},
    {"128k_bs8_lambda2.0x_cv1.json", 100, 8, 131072, 4540, 19738, 0.0002041699674144732, 13336.2,
     9795.8, 529166},
    {"16k_lambda2.0x_cv1.json", 52, 4, 16192, 305, 1327, 0.0005864937262089384, 830.3, 1704.8,
     46262},
    {"8k_lambda2.0x_cv1.json", 52, 4, 8096, 152, 663, 0.0005864937262089384, 414.9, 852.1, 23131},
};

double Mean(const Workload& w, bool input) {
  double s = 0;
  for (const auto& r : w.requests)
    s += static_cast<double>(input ? r.input_tokens : r.output_tokens);
  return s / static_cast<double>(w.requests.size());
}

TEST(OrbitflowTrace, EveryPaperFileMatchesItsReadme) {
  for (const PaperFile& f : kPaperFiles) {
    SCOPED_TRACE(f.file);
    auto w = ReadTrace(SharedPaperTrace(f.file), std::nullopt);  // format guessed from .json
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_TRUE(ValidateWorkload(*w).ok());
    EXPECT_EQ(w->unit, ArrivalUnit::kSteps);
    EXPECT_EQ(w->requests.size(), f.requests);
    EXPECT_EQ(w->header.batch_size, f.batch_size);
    EXPECT_EQ(w->header.max_model_len, f.max_model_len);
    EXPECT_EQ(w->header.device_blocks_per_layer, f.device_blocks);
    EXPECT_EQ(w->header.peak_batch_blocks, f.peak_blocks);
    EXPECT_THAT(w->header.arrival_pattern, HasSubstr("LognormalArrival(lambda="));
    ASSERT_TRUE(w->header.arrival_lambda.has_value());
    EXPECT_EQ(*w->header.arrival_lambda, f.lambda);
    EXPECT_EQ(w->header.arrival_cv, 1.0);
    EXPECT_NEAR(Mean(*w, true), f.mean_in, 0.051);
    EXPECT_NEAR(Mean(*w, false), f.mean_out, 0.051);
    EXPECT_EQ(w->requests.front().arrival, 0.0);
    EXPECT_EQ(w->requests.back().arrival, f.last_arrival);
    EXPECT_FALSE(w->requests.front().category.empty());
  }
}

TEST(OrbitflowTrace, HeaderLambdaIsMultiplierOverMeanOutput) {
  // What GeneratorOptions::base_rate defaults to: the reference's lambda is the load multiplier
  // divided by the request set's mean output length.
  const std::pair<const char*, double> files[] = {{"32k_lambda1.0x_cv1.json", 1.0},
                                                  {"32k_lambda2.5x_cv1.json", 2.5},
                                                  {"32k_lambda5.0x_cv1.json", 5.0},
                                                  {"128k_bs8_lambda2.0x_cv1.json", 2.0}};
  for (const auto& [file, multiplier] : files) {
    auto w = ReadTrace(SharedPaperTrace(file), TraceFormat::kOrbitflow);
    ASSERT_TRUE(w.ok());
    EXPECT_NEAR(*w->header.arrival_lambda * Mean(*w, false), multiplier, 1e-9) << file;
  }
}

TEST(OrbitflowTrace, FirstRequestsAndSharedRequestSets) {
  auto a = ReadTrace(SharedPaperTrace("32k_lambda2.0x_cv1.json"), TraceFormat::kOrbitflow);
  auto b = ReadTrace(SharedPaperTrace("32k_lambda2.5x_cv1.json"), TraceFormat::kOrbitflow);
  ASSERT_TRUE(a.ok() && b.ok());
  // request_1: SSS_I192-304_O400-608, 253 in, 582 out, arrival 665 (sched_time not used).
  EXPECT_EQ(a->requests[1].category, "SSS_I192-304_O400-608");
  EXPECT_EQ(a->requests[1].input_tokens, 253);
  EXPECT_EQ(a->requests[1].output_tokens, 582);
  EXPECT_EQ(a->requests[1].arrival, 665.0);
  for (size_t i = 0; i < a->requests.size(); ++i) {
    EXPECT_EQ(a->requests[i].category, b->requests[i].category);
    EXPECT_EQ(a->requests[i].input_tokens, b->requests[i].input_tokens);
    EXPECT_EQ(a->requests[i].output_tokens, b->requests[i].output_tokens);
  }
}

TEST(OrbitflowTrace, ArrivalUsesArrivalTimeNotSchedTime) {
  // 32k 5.0x queues 48 of 52 requests: a sched_time reader would get other times.
  const std::string text = Slurp(SharedPaperTrace("32k_lambda5.0x_cv1.json"));
  auto w = ParseOrbitflowJson(text, "5x.json");
  ASSERT_TRUE(w.ok());
  const size_t at = text.find("\"request_51\"");
  ASSERT_NE(at, std::string::npos);
  ASSERT_NE(text.find("\"arrival_time\": 20486, \"sched_time\": 60270", at), std::string::npos);
  EXPECT_EQ(w->requests[51].arrival, 20486.0);
}

TEST(OrbitflowTrace, ProfileTraceAccepted) {
  auto w = ReadTrace(SharedPaperTrace("profile_trace_A6000.json"), std::nullopt);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w->requests.size(), 1u);
  EXPECT_EQ(w->requests[0].input_tokens, 10);
  EXPECT_EQ(w->requests[0].output_tokens, 10000);
  EXPECT_EQ(w->requests[0].category, "Short-Short ShareGPT");
  EXPECT_EQ(w->header.max_model_len, 20000);
  EXPECT_EQ(w->header.device_blocks_per_layer, 1000);
  EXPECT_FALSE(w->header.peak_batch_blocks.has_value());
  EXPECT_THAT(w->header.arrival_pattern, HasSubstr("PoissonBurstyArrivalPattern"));
  EXPECT_FALSE(w->header.arrival_lambda.has_value());
}

TEST(OrbitflowTrace, HandMadeOrderingAndErrors) {
  const std::string ok = R"({"batch_size": 2, "requests": {
    "request_10": {"input_length": 3, "output_length": 4, "arrival_time": 7.5},
    "request_2": {"category": "c", "input_length": 1, "output_length": 2, "arrival_time": 7.5},
    "request_0": {"input_length": 5, "output_length": 6, "arrival_time": 0, "sched_time": 99}}})";
  auto w = ParseOrbitflowJson(ok, "t.json");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w->requests.size(), 3u);
  EXPECT_EQ(w->requests[0].input_tokens, 5);
  EXPECT_EQ(w->requests[0].arrival, 0.0);
  EXPECT_EQ(w->requests[1].category, "c");
  EXPECT_EQ(w->requests[2].input_tokens, 3);
  EXPECT_EQ(w->requests[2].index, 2);
  EXPECT_EQ(w->header.batch_size, 2);
  EXPECT_FALSE(w->header.max_model_len.has_value());

  const std::string decreasing = R"({"requests": {
    "request_0": {"input_length": 5, "output_length": 6, "arrival_time": 9},
    "request_1": {"input_length": 5, "output_length": 6, "arrival_time": 3}}})";
  EXPECT_THAT(ParseOrbitflowJson(decreasing, "t.json").status().message(),
              HasSubstr("request_1 arrives at 3 before request_0"));
  const std::string bad_field =
      "{\"requests\": {\n\"request_0\": {\"input_length\": 5, "
      "\"output_length\": 6, \"arrival_time\": 0},\n\"request_1\": "
      "{\"input_length\": -5, \"output_length\": 6, \"arrival_time\": 1}}}";
  EXPECT_THAT(ParseOrbitflowJson(bad_field, "t.json").status().message(),
              HasSubstr("t.json:3: request 'request_1': field 'input_length'"));
  EXPECT_THAT(ParseOrbitflowJson(R"({"requests": {"req_0": {}}})", "t.json").status().message(),
              HasSubstr("request_N"));
  EXPECT_THAT(ParseOrbitflowJson(R"({"requests": {"request_1": {}}})", "t.json").status().message(),
              HasSubstr("missing field 'input_length'"));
  const std::string body = R"({"input_length": 1, "output_length": 1, "arrival_time": 0})";
  EXPECT_THAT(
      ParseOrbitflowJson(
          R"({"requests": {"request_1": )" + body + R"(, "request_01": )" + body + "}}", "t.json")
          .status()
          .message(),
      HasSubstr("two keys name request_1"));
  EXPECT_THAT(
      ParseOrbitflowJson(R"({"batch_size": "4", "requests": {}})", "t.json").status().message(),
      HasSubstr("field 'batch_size'"));
  EXPECT_THAT(ParseOrbitflowJson(R"({"requests": {}})", "t.json").status().message(),
              HasSubstr("non-empty object 'requests'"));
  EXPECT_THAT(ParseOrbitflowJson("[1, 2]", "t.json").status().message(),
              HasSubstr("expected a JSON object"));
  EXPECT_THAT(ParseOrbitflowJson("{\n\"requests\": \n{,}", "t.json").status().message(),
              HasSubstr("t.json:3: invalid JSON"));
}

TEST(NamedWorkloads, RepoCopiesAndEmbeddedBytesMatchTheOriginals) {
  const auto names = EmbeddedTraceFileNames();
  ASSERT_EQ(names.size(), 7u);
  for (std::string_view name : names) {
    SCOPED_TRACE(std::string(name));
    const std::string original = Slurp(SharedPaperTrace(std::string(name)));
    ASSERT_FALSE(original.empty());
    EXPECT_EQ(Slurp(RepoPaperTrace(std::string(name))), original);
    const auto embedded = EmbeddedTraceFile(name);
    ASSERT_TRUE(embedded.has_value());
    EXPECT_EQ(*embedded, original);
  }
  EXPECT_FALSE(EmbeddedTraceFile("8k_lambda2.0x_cv1.json").has_value());
}

TEST(NamedWorkloads, CatalogAndDefaults) {
  EXPECT_EQ(NamedWorkloads(), (std::vector<std::string>{"paper-32k", "paper-128k"}));
  EXPECT_EQ(NamedWorkloadMultipliers("paper-32k"),
            (std::vector<double>{1.0, 2.0, 2.5, 3.0, 4.5, 5.0}));
  auto w32 = LoadNamedWorkload("paper-32k");
  ASSERT_TRUE(w32.ok()) << w32.status().ToString();
  auto file = ReadTrace(SharedPaperTrace("32k_lambda2.0x_cv1.json"), TraceFormat::kOrbitflow);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(w32->name, "paper-32k");
  EXPECT_EQ(w32->unit, ArrivalUnit::kSteps);
  ASSERT_EQ(w32->requests.size(), file->requests.size());
  for (size_t i = 0; i < file->requests.size(); ++i) {
    EXPECT_EQ(w32->requests[i].arrival, file->requests[i].arrival);
    EXPECT_EQ(w32->requests[i].input_tokens, file->requests[i].input_tokens);
  }
  EXPECT_EQ(w32->header.device_blocks_per_layer, 611);

  auto w128 = LoadNamedWorkload("paper-128k");
  ASSERT_TRUE(w128.ok());
  EXPECT_EQ(w128->requests.size(), 100u);
  EXPECT_EQ(w128->header.batch_size, 8);
  EXPECT_EQ(w128->requests.back().arrival, 529166.0);

  auto unknown = LoadNamedWorkload("paper-64k");
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("paper-32k, paper-128k"));
  NamedWorkloadOptions bad;
  bad.rate_scale = -1.0;
  EXPECT_FALSE(LoadNamedWorkload("paper-32k", bad).ok());
}

// Loads `name` at multiplier x and checks it is `file` with arrivals scaled by `factor`.
void ExpectScaledFile(const char* name, double x, const char* file, double factor) {
  SCOPED_TRACE(fmt::format("{} at {}x", name, x));
  NamedWorkloadOptions o;
  o.rate_scale = x;
  auto w = LoadNamedWorkload(name, o);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto f = ReadTrace(SharedPaperTrace(file), TraceFormat::kOrbitflow);
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(w->requests.size(), f->requests.size());
  for (size_t i = 0; i < f->requests.size(); ++i) {
    EXPECT_EQ(w->requests[i].arrival, f->requests[i].arrival * factor);
    EXPECT_EQ(w->requests[i].output_tokens, f->requests[i].output_tokens);
  }
  EXPECT_THAT(w->source, HasSubstr(file));
}

TEST(NamedWorkloads, NearestFileWithScaledGaps) {
  ExpectScaledFile("paper-32k", 1.0, "32k_lambda1.0x_cv1.json", 1.0);
  ExpectScaledFile("paper-32k", 4.5, "32k_lambda4.5x_cv1.json", 1.0);
  ExpectScaledFile("paper-32k", 4.0, "32k_lambda4.5x_cv1.json", 4.5 / 4.0);
  ExpectScaledFile("paper-32k", 0.5, "32k_lambda1.0x_cv1.json", 1.0 / 0.5);
  ExpectScaledFile("paper-32k", 2.2, "32k_lambda2.0x_cv1.json", 2.0 / 2.2);
  ExpectScaledFile("paper-32k", 3.75, "32k_lambda3.0x_cv1.json", 3.0 / 3.75);  // tie: lower
  ExpectScaledFile("paper-32k", 8.0, "32k_lambda5.0x_cv1.json", 5.0 / 8.0);
  ExpectScaledFile("paper-128k", 4.0, "128k_bs8_lambda2.0x_cv1.json", 2.0 / 4.0);
  // By hand: request_1 of the 4.5x file arrives at step 340, so at 4.0x at 340 * 1.125.
  NamedWorkloadOptions o;
  o.rate_scale = 4.0;
  auto w = LoadNamedWorkload("paper-32k", o);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->requests[1].arrival, 382.5);
  EXPECT_EQ(w->requests[1].input_tokens, 8607);
}

TEST(NamedWorkloads, SelectionOptionsApply) {
  NamedWorkloadOptions o;
  o.max_requests = 10;
  o.max_context = 4000;
  auto w = LoadNamedWorkload("paper-32k", o);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->requests.size(), 10u);
  for (const auto& r : w->requests) EXPECT_LE(r.input_tokens + r.output_tokens, 4000);
  EXPECT_TRUE(ValidateWorkload(*w).ok());
}

}  // namespace
}  // namespace orbitflow
