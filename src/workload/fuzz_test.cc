// Fuzz-style robustness: thousands of random mutations (byte changes, truncations, deletions,
// duplications) of real trace excerpts go through every reader, which must return either a
// valid Workload or a non-OK Status, never crash or hang. Seeded, so any failure reproduces.
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "workload/workload.h"

namespace orbitflow {
namespace {

std::string FirstLines(const std::string& path, int n) {
  std::ifstream in(path, std::ios::binary);
  std::string out, line;
  for (int i = 0; i < n && std::getline(in, line); ++i) out += line + "\n";
  return out;
}

std::string Whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Traces() { return std::string(ORBITFLOW_SHARED_DATA_DIR) + "/traces/"; }

// Applies 1-4 random edits to `text`.
std::string Mutate(std::string text, std::mt19937_64& rng) {
  static const char kInteresting[] = {',', '\n', '"', '{', '}',  '[',  ']',    ':',    '-', '.',
                                      'e', '9',  '0', ' ', '\r', '\0', '\x7f', '\xff', 'x', '+'};
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    const size_t pos = pick(text.size() + 1);
    switch (rng() % 6) {
      case 0:  // flip one byte to a random value
        if (pos < text.size()) text[pos] = static_cast<char>(rng());
        break;
      case 1:  // set one byte to a character that matters to the formats
        if (pos < text.size()) text[pos] = kInteresting[pick(sizeof(kInteresting))];
        break;
      case 2:  // truncate
        text.resize(pos);
        break;
      case 3:  // delete a short range
        text.erase(pos, 1 + pick(16));
        break;
      case 4: {  // duplicate a short range elsewhere
        const std::string chunk = text.substr(pick(text.size() + 1), 1 + pick(32));
        text.insert(pick(text.size() + 1), chunk);
        break;
      }
      default:  // insert an interesting character
        text.insert(text.begin() + static_cast<ptrdiff_t>(pos),
                    kInteresting[pick(sizeof(kInteresting))]);
        break;
    }
  }
  return text;
}

// Random but valid options, so selection and scaling also see mutated input.
TraceOptions RandomOptions(std::mt19937_64& rng) {
  TraceOptions o;
  if (rng() % 3 == 0) o.rate_scale = 0.25 + static_cast<double>(rng() % 16) * 0.5;
  if (rng() % 3 == 0) o.max_requests = 1 + static_cast<int64_t>(rng() % 8);
  if (rng() % 3 == 0) o.max_context = 2 + static_cast<int64_t>(rng() % 20000);
  return o;
}

void FuzzReader(TraceFormat format, const std::string& seed_text, int iterations, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto base = ParseTrace(seed_text, "seed", format);
  ASSERT_TRUE(base.ok()) << "the unmutated seed must parse: " << base.status().ToString();
  int parsed = 0;
  for (int i = 0; i < iterations; ++i) {
    const std::string text = Mutate(seed_text, rng);
    const ArrivalProcessOptions arrivals{static_cast<ArrivalProcessOptions::Kind>(rng() % 3),
                                         0.5 + static_cast<double>(rng() % 8), 1.5, rng()};
    auto w = ParseTrace(text, "fuzz", format, RandomOptions(rng), arrivals);
    if (w.ok()) {
      ++parsed;
      ASSERT_TRUE(ValidateWorkload(*w).ok())
          << "iteration " << i << ": " << ValidateWorkload(*w).ToString();
    } else {
      ASSERT_NE(w.status().code(), StatusCode::kOk);
      ASSERT_FALSE(w.status().message().empty());
    }
    (void)GuessTraceFormat("fuzz", text);
  }
  // Some mutations must survive (e.g. a changed digit), or the fuzzer only tests the front door.
  EXPECT_GT(parsed, iterations / 100) << TraceFormatName(format);
}

TEST(Fuzz, AzureCsv) {
  FuzzReader(TraceFormat::kAzure,
             FirstLines(Traces() + "azure_llm_2023/AzureLLMInferenceTrace_conv.csv", 20), 4000, 1);
}

TEST(Fuzz, MooncakeJsonl) {
  FuzzReader(TraceFormat::kMooncake,
             FirstLines(Traces() + "mooncake_fast25/conversation_trace.jsonl", 8), 4000, 2);
}

TEST(Fuzz, LengthsCsv) {
  FuzzReader(TraceFormat::kLengths,
             FirstLines(Traces() + "sarathi_length_stats/"
                                   "sharegpt_8k_filtered_stats_llama2_tokenizer.csv",
                        20),
             4000, 3);
}

TEST(Fuzz, OrbitflowJson) {
  FuzzReader(TraceFormat::kOrbitflow, Whole(Traces() + "orbitflow_paper/32k_lambda2.0x_cv1.json"),
             2500, 4);
  FuzzReader(TraceFormat::kOrbitflow, Whole(Traces() + "orbitflow_paper/profile_trace_A6000.json"),
             1500, 5);
}

TEST(Fuzz, RandomBytesAndEmptyInput) {
  std::mt19937_64 rng(6);
  for (auto format : {TraceFormat::kAzure, TraceFormat::kMooncake, TraceFormat::kLengths,
                      TraceFormat::kOrbitflow}) {
    EXPECT_FALSE(ParseTrace("", "empty", format).ok());
    for (int i = 0; i < 300; ++i) {
      std::string junk(rng() % 200, '\0');
      for (char& c : junk) c = static_cast<char>(rng());
      auto w = ParseTrace(junk, "junk", format);
      if (w.ok()) {
        EXPECT_TRUE(ValidateWorkload(*w).ok());
      }
    }
  }
}

}  // namespace
}  // namespace orbitflow
