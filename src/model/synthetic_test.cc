#include "model/synthetic.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>

#include "model/loader.h"
#include "model/model_test_util.h"
#include "model/weight_layout.h"

namespace orbitflow {
namespace {

using testing_util::SameWeights;

TEST(SyntheticTest, SameBitsForAnyThreadCountDifferentForAnotherSeed) {
  ModelSpec spec = *LookupModelSpec("stories260k");
  auto one = MakeSyntheticModel(spec, {.seed = 1, .threads = 1});
  auto three = MakeSyntheticModel(spec, {.seed = 1, .threads = 3});
  auto other = MakeSyntheticModel(spec, {.seed = 2, .threads = 2});
  ASSERT_TRUE(one.ok() && three.ok() && other.ok());
  EXPECT_TRUE(SameWeights(*one, *three));
  EXPECT_FALSE(SameWeights(*one, *other));
  EXPECT_TRUE(one->spec.synthetic);
}

TEST(SyntheticTest, ValuesAreScaledByFanIn) {
  ModelSpec spec = *LookupModelSpec("stories260k");
  auto m = MakeSyntheticModel(spec);
  ASSERT_TRUE(m.ok());
  for (const NamedTensor& t : ListTensors(m->spec, m->weights)) {
    double lo = 1e9, hi = -1e9, sum = 0;
    for (int64_t i = 0; i < t.size(); ++i) {
      lo = std::min<double>(lo, t.data[i]);
      hi = std::max<double>(hi, t.data[i]);
      sum += t.data[i];
    }
    if (t.rows == 1) {  // RMSNorm gains
      EXPECT_GE(lo, 0.9) << t.name;
      EXPECT_LT(hi, 1.1) << t.name;
    } else {
      const double bound = 1.0 / std::sqrt(static_cast<double>(t.cols));
      EXPECT_GE(lo, -bound) << t.name;
      EXPECT_LT(hi, bound) << t.name;
      EXPECT_GT(hi - lo, bound) << t.name;  // actually spread out, not constant
      EXPECT_LT(std::fabs(sum / t.size()), bound / 5) << t.name;
    }
  }
}

TEST(SyntheticTest, LoadModelKnowsTheBuiltinShapes) {
  auto m = LoadModel("synthetic:stories110m");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->spec.synthetic);
  EXPECT_EQ(m->spec.dim, 768);
  EXPECT_EQ(m->spec.n_layers, 12);
  EXPECT_EQ(m->spec.n_heads, 12);
  EXPECT_EQ(m->spec.n_kv_heads, 12);
  EXPECT_EQ(m->spec.hidden_dim, 2048);
  EXPECT_EQ(m->spec.vocab_size, 32000);
  EXPECT_EQ(m->spec.max_seq_len, 1024);
  EXPECT_TRUE(CheckFinite(m->spec, m->weights, "synthetic").ok());
  // The Llama 2 vocabulary fits this model; without one it gets a byte-level vocabulary.
  auto bytes = TokenizerForModel(m->spec, "");
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->vocab_size(), 32000);
}

TEST(SyntheticTest, UnknownOrTooLargeShapesAreErrors) {
  auto unknown = LoadModel("synthetic:gpt-9");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  ModelSpec huge = *LookupModelSpec("llama-3-70b");
  huge.n_layers = 8000;  // ~7 TB of weights: refused before allocating
  auto m = MakeSyntheticModel(huge);
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(m.status().code() == StatusCode::kResourceExhausted ||
              m.status().code() == StatusCode::kInvalidArgument)
      << m.status().ToString();
}

// 4.9 GB and a few seconds: run by hand (--gtest_also_run_disabled_tests) to time generation.
TEST(SyntheticTest, DISABLED_Llama32_1BGeneratesInSeconds) {
  const auto start = std::chrono::steady_clock::now();
  auto m = LoadModel("synthetic:llama-3.2-1b");
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->spec.vocab_size, 128256);
  EXPECT_EQ(m->spec.n_kv_heads, 8);
  std::printf("synthetic llama-3.2-1b: %.2f s for %.2f GB\n", s, m->spec.ParamCount() * 4 / 1e9);
}

}  // namespace
}  // namespace orbitflow
