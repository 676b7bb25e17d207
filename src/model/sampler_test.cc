#include "model/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

namespace orbitflow {
namespace {

TEST(SamplerTest, GreedyPicksTheLowestIdAmongTies) {
  Sampler s({.temperature = 0.0f});
  EXPECT_EQ(s.Sample(std::vector<float>{0.1f, 3.0f, -1.0f, 3.0f}), 1);
  EXPECT_EQ(s.Sample(std::vector<float>{5.0f}), 0);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(s.Sample(std::vector<float>{nan, 1.0f, nan, 2.0f}), 3);
  EXPECT_EQ(Argmax(std::vector<float>{-2.0f, -2.0f}), 0);
}

TEST(SamplerTest, XorShiftMatchesLlama2c) {
  // llama2.c: state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
  // return (state * 0x2545F4914F6CDD1D) >> 32.
  uint64_t state = 42;
  XorShiftRng rng(42);
  for (int i = 0; i < 100; ++i) {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    ASSERT_EQ(rng.NextU32(), static_cast<uint32_t>((state * 0x2545F4914F6CDD1Dull) >> 32));
  }
  XorShiftRng f(7);
  for (int i = 0; i < 1000; ++i) {
    const float x = f.NextFloat();
    ASSERT_GE(x, 0.0f);
    ASSERT_LT(x, 1.0f);
  }
}

TEST(SamplerTest, SameSeedSameTokensDifferentSeedDifferentTokens) {
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i));
  auto run = [&](uint64_t seed) {
    Sampler s({.temperature = 1.0f, .top_p = 0.9f, .seed = seed});
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.Sample(logits));
    return out;
  };
  EXPECT_EQ(run(1), run(1));
  EXPECT_NE(run(1), run(2));
}

TEST(SamplerTest, TemperatureSamplingFollowsTheSoftmax) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  Sampler s({.temperature = 1.0f, .top_p = 1.0f, .seed = 3});
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[s.Sample(logits)];
  EXPECT_NEAR(counts[0] / double(n), 0.5, 0.02);
  EXPECT_NEAR(counts[1] / double(n), 0.3, 0.02);
  EXPECT_NEAR(counts[2] / double(n), 0.2, 0.02);
}

TEST(SamplerTest, TopPKeepsOnlyTheNucleus) {
  // Probabilities 0.5, 0.3, 0.1, 0.1: with top_p = 0.7 the nucleus is {0, 1}.
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.1f), std::log(0.1f)};
  Sampler s({.temperature = 1.0f, .top_p = 0.7f, .seed = 11});
  std::map<int32_t, int> counts;
  for (int i = 0; i < 5000; ++i) ++counts[s.Sample(logits)];
  EXPECT_EQ(counts.count(2) + counts.count(3), 0u);
  EXPECT_NEAR(counts[0] / 5000.0, 0.625, 0.03);  // 0.5 / 0.8 renormalised
}

TEST(SamplerTest, TopPOnTinyVocabulariesNeverFiltersEverything) {
  // llama2.c's pre-filter cutoff (1 - p) / (n - 1) = 0.9 here exceeds every probability.
  Sampler s({.temperature = 1.0f, .top_p = 0.1f, .seed = 5});
  for (int i = 0; i < 100; ++i) {
    const int32_t t = s.Sample(std::vector<float>{0.2f, 0.0f});
    ASSERT_TRUE(t == 0 || t == 1);
  }
  EXPECT_EQ(s.Sample(std::vector<float>{1.0f}), 0);
}

TEST(SamplerTest, DegenerateLogitsStillGiveAValidToken) {
  const float inf = std::numeric_limits<float>::infinity();
  Sampler s({.temperature = 0.8f, .top_p = 0.9f});
  EXPECT_EQ(s.Sample(std::vector<float>{-inf, -inf, -inf}), 0);
  EXPECT_EQ(s.Sample(std::vector<float>{0.0f, inf, 1.0f}), 1);
}

TEST(SamplerTest, OptionsValidateNamesTheField) {
  EXPECT_TRUE(SamplerOptions{}.Validate().ok());
  Status bad_t = SamplerOptions{.temperature = -1.0f}.Validate();
  EXPECT_NE(bad_t.message().find("temperature"), std::string::npos);
  Status bad_p = SamplerOptions{.top_p = std::nanf("")}.Validate();
  EXPECT_NE(bad_p.message().find("top_p"), std::string::npos);
}

}  // namespace
}  // namespace orbitflow
