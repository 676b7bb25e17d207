// Synthetic arrival processes and the reference generator's model: empirical moments over many
// samples with fixed seeds, exact relations between runs, determinism, and option checks.
#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "workload/arrival_process.h"
#include "workload/generator.h"

namespace orbitflow {
namespace {

using ::testing::HasSubstr;

struct Moments {
  double mean;
  double cv;
};

Moments GapMoments(const std::vector<double>& arrivals) {
  const size_t n = arrivals.size() - 1;
  double sum = 0, sum2 = 0;
  for (size_t i = 1; i < arrivals.size(); ++i) {
    const double g = arrivals[i] - arrivals[i - 1];
    sum += g;
    sum2 += g * g;
  }
  const double mean = sum / static_cast<double>(n);
  const double var = sum2 / static_cast<double>(n) - mean * mean;
  return {mean, std::sqrt(var) / mean};
}

TEST(WorkloadRng, UsesTheStandardMersenneTwister) {
  // The standard fixes mt19937_64's output: 14514284786278117030 first for the default seed.
  WorkloadRng rng(5489);
  EXPECT_EQ(rng.Uniform(), static_cast<double>(14514284786278117030ull >> 11) * 0x1.0p-53);
}

TEST(ArrivalProcess, EmpiricalMeanAndCv) {
  struct Case {
    ArrivalProcessOptions::Kind kind;
    double cv;
    double cv_tolerance;  // relative; heavy-tailed gaps converge slower
  };
  const Case cases[] = {
      {ArrivalProcessOptions::kPoisson, 1.0, 0.02},
      {ArrivalProcessOptions::kGamma, 0.5, 0.02},
      {ArrivalProcessOptions::kGamma, 2.0, 0.05},
      {ArrivalProcessOptions::kLogNormal, 0.5, 0.02},
      {ArrivalProcessOptions::kLogNormal, 1.0, 0.03},
      {ArrivalProcessOptions::kLogNormal, 2.0, 0.10},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(fmt::format("{} cv {}", ArrivalKindName(c.kind), c.cv));
    ArrivalProcessOptions o{c.kind, 2.0, c.cv, 42};
    auto arrivals = GenerateArrivals(200'001, o);
    ASSERT_TRUE(arrivals.ok()) << arrivals.status().ToString();
    EXPECT_EQ(arrivals->front(), 0.0);
    EXPECT_TRUE(std::is_sorted(arrivals->begin(), arrivals->end()));
    const Moments m = GapMoments(*arrivals);
    EXPECT_NEAR(m.mean, 0.5, 0.5 * 0.02);
    EXPECT_NEAR(m.cv, c.cv, c.cv * c.cv_tolerance);
  }
}

TEST(ArrivalProcess, PoissonIgnoresCvAndSeedsAreDeterministic) {
  ArrivalProcessOptions a{ArrivalProcessOptions::kPoisson, 3.0, -5.0, 9};
  ArrivalProcessOptions b{ArrivalProcessOptions::kPoisson, 3.0, 1.0, 9};
  EXPECT_EQ(*GenerateArrivals(100, a), *GenerateArrivals(100, b));
  for (auto kind : {ArrivalProcessOptions::kGamma, ArrivalProcessOptions::kLogNormal}) {
    ArrivalProcessOptions o{kind, 3.0, 1.5, 9};
    const auto first = *GenerateArrivals(1000, o);
    EXPECT_EQ(first, *GenerateArrivals(1000, o));
    o.seed = 10;
    EXPECT_NE(first, *GenerateArrivals(1000, o));
  }
  EXPECT_TRUE(GenerateArrivals(0, b)->empty());
  EXPECT_EQ(*GenerateArrivals(1, b), std::vector<double>{0.0});
}

TEST(ArrivalProcess, RejectsBadOptions) {
  EXPECT_THAT(
      GenerateArrivals(5, {ArrivalProcessOptions::kPoisson, 0.0, 1.0, 0}).status().message(),
      HasSubstr("rate_per_s"));
  EXPECT_FALSE(GenerateArrivals(5, {ArrivalProcessOptions::kPoisson, NAN, 1.0, 0}).ok());
  EXPECT_FALSE(GenerateArrivals(5, {ArrivalProcessOptions::kPoisson, 1e-320, 1.0, 0}).ok());
  EXPECT_THAT(GenerateArrivals(5, {ArrivalProcessOptions::kGamma, 1.0, 0.0, 0}).status().message(),
              HasSubstr("cv"));
  EXPECT_FALSE(GenerateArrivals(5, {ArrivalProcessOptions::kLogNormal, 1.0, INFINITY, 0}).ok());
  EXPECT_FALSE(GenerateArrivals(-1, {}).ok());
  EXPECT_EQ(*ParseArrivalKind("gamma"), ArrivalProcessOptions::kGamma);
  EXPECT_EQ(*ParseArrivalKind("lognormal"), ArrivalProcessOptions::kLogNormal);
  EXPECT_EQ(*ParseArrivalKind("poisson"), ArrivalProcessOptions::kPoisson);
  EXPECT_FALSE(ParseArrivalKind("uniform").ok());
}

TEST(Category, ParsesReferenceNames) {
  auto c = ParseCategory("MSL_I1632-2448_O3264-4912", 3.0);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->input_min, 1632);
  EXPECT_EQ(c->input_max, 2448);
  EXPECT_EQ(c->output_min, 3264);
  EXPECT_EQ(c->output_max, 4912);
  EXPECT_EQ(c->weight, 3.0);
  EXPECT_FALSE(ParseCategory("Short-Short ShareGPT").ok());
  EXPECT_FALSE(ParseCategory("X_I5-3_O1-2").ok());
  EXPECT_FALSE(ParseCategory("X_I0-3_O1-2").ok());
  EXPECT_FALSE(ParseCategory("X_I1-3_O1-2junk").ok());
  EXPECT_FALSE(ParseCategory("X_I1-3_O1-2", 0.0).ok());
}

TEST(Category, DefaultLadderAndScaling) {
  const auto cats = DefaultCategories();
  ASSERT_EQ(cats.size(), 39u);
  double total = 0;
  const std::vector<int64_t> ladder = {96, 192, 400, 816, 1632, 3264, 6544};
  for (const Category& c : cats) {
    total += c.weight;
    EXPECT_NE(std::find(ladder.begin(), ladder.end(), c.input_min), ladder.end()) << c.name;
    EXPECT_NE(std::find(ladder.begin(), ladder.end(), c.output_min), ladder.end()) << c.name;
  }
  EXPECT_EQ(total, 156.0);
  // The reference's 16k and 8k files name the same bins halved and quartered, rounded down.
  const auto half = ScaleCategories({*ParseCategory("MSL_I1632-2448_O3264-4912")}, 0.5);
  EXPECT_EQ(half[0].name, "MSL_I816-1224_O1632-2456");
  const auto quarter = ScaleCategories({*ParseCategory("SSS_I96-144_O400-608")}, 0.25);
  EXPECT_EQ(quarter[0].name, "SSS_I24-36_O100-152");
  EXPECT_EQ(quarter[0].output_max, 152);
}

TEST(Generator, LengthsStayInRangesAndFollowWeights) {
  GeneratorOptions o;
  o.num_requests = 20'000;
  o.seed = 3;
  auto w = GenerateWorkload(o);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->requests.size(), 20'000u);
  EXPECT_EQ(w->unit, ArrivalUnit::kSteps);
  EXPECT_TRUE(ValidateWorkload(*w).ok());
  std::map<std::string, int> counts;
  std::map<std::string, Category> by_name;
  for (const Category& c : o.categories) by_name[c.name] = c;
  for (const auto& r : w->requests) {
    const Category& c = by_name.at(r.category);
    EXPECT_GE(r.input_tokens, c.input_min);
    EXPECT_LE(r.input_tokens, c.input_max);
    EXPECT_GE(r.output_tokens, c.output_min);
    EXPECT_LE(r.output_tokens, c.output_max);
    ++counts[r.category];
  }
  // MSL_I1632-2448_O3264-4912 has weight 15 of 156: expect 1923 of 20000 (sd about 42).
  EXPECT_NEAR(counts["MSL_I1632-2448_O3264-4912"], 20000.0 * 15 / 156, 150);
}

TEST(Generator, LengthMedianIsTheRangesGeometricMiddle) {
  GeneratorOptions o;
  o.categories = {*ParseCategory("X_I1000-4000_O10-10")};
  o.num_requests = 20'001;
  auto w = GenerateWorkload(o);
  ASSERT_TRUE(w.ok());
  std::vector<int64_t> in;
  int at_bounds = 0;
  for (const auto& r : w->requests) {
    in.push_back(r.input_tokens);
    at_bounds += r.input_tokens == 1000 || r.input_tokens == 4000;
    EXPECT_EQ(r.output_tokens, 10);
  }
  std::nth_element(in.begin(), in.begin() + 10'000, in.end());
  EXPECT_NEAR(static_cast<double>(in[10'000]), 2000.0, 40.0);  // sqrt(1000 * 4000)
  // +-2 sigma spans the range: 4.55% of draws fall outside and are clamped to a bound.
  EXPECT_NEAR(at_bounds / 20001.0, 0.0455, 0.006);
}

TEST(Generator, ArrivalsFollowTheReferenceRate) {
  GeneratorOptions o;
  o.num_requests = 5'000;
  o.rate_multiplier = 2.5;
  o.seed = 11;
  auto w = GenerateWorkload(o);
  ASSERT_TRUE(w.ok());
  double out_sum = 0;
  std::vector<double> arrivals;
  for (const auto& r : w->requests) {
    out_sum += static_cast<double>(r.output_tokens);
    arrivals.push_back(r.arrival);
  }
  // Unset base_rate: lambda = multiplier / mean output length, as in the reference traces.
  const double lambda = 2.5 / (out_sum / 5000.0);
  ASSERT_TRUE(w->header.arrival_lambda.has_value());
  EXPECT_NEAR(*w->header.arrival_lambda, lambda, lambda * 1e-12);
  EXPECT_EQ(arrivals.front(), 0.0);
  const Moments m = GapMoments(arrivals);
  EXPECT_NEAR(m.mean, 1.0 / lambda, 0.05 / lambda);
  EXPECT_NEAR(m.cv, 1.0, 0.1);

  o.base_rate = 0.01;
  o.unit = ArrivalUnit::kSeconds;
  auto fixed = GenerateWorkload(o);
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(*fixed->header.arrival_lambda, 0.025);
  EXPECT_EQ(fixed->unit, ArrivalUnit::kSeconds);
}

TEST(Generator, MultiplierScalesGapsOfTheSameRequests) {
  GeneratorOptions o;
  o.num_requests = 300;
  o.cv = 3.0;
  auto slow = GenerateWorkload(o);
  o.rate_multiplier = 4.0;
  auto fast = GenerateWorkload(o);
  ASSERT_TRUE(slow.ok() && fast.ok());
  for (size_t i = 0; i < slow->requests.size(); ++i) {
    EXPECT_EQ(slow->requests[i].input_tokens, fast->requests[i].input_tokens);
    EXPECT_EQ(slow->requests[i].category, fast->requests[i].category);
    EXPECT_NEAR(fast->requests[i].arrival * 4.0, slow->requests[i].arrival,
                1e-12 * slow->requests[i].arrival);
  }
}

TEST(Generator, DeterministicPerSeed) {
  GeneratorOptions o;
  o.num_requests = 500;
  auto a = GenerateWorkload(o);
  auto b = GenerateWorkload(o);
  o.seed = 1;
  auto c = GenerateWorkload(o);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  bool any_difference = false;
  for (size_t i = 0; i < a->requests.size(); ++i) {
    EXPECT_EQ(a->requests[i].arrival, b->requests[i].arrival);
    EXPECT_EQ(a->requests[i].input_tokens, b->requests[i].input_tokens);
    EXPECT_EQ(a->requests[i].output_tokens, b->requests[i].output_tokens);
    any_difference |= a->requests[i].input_tokens != c->requests[i].input_tokens;
  }
  EXPECT_TRUE(any_difference);
}

TEST(Generator, RejectsBadOptions) {
  GeneratorOptions o;
  o.num_requests = 0;
  EXPECT_THAT(GenerateWorkload(o).status().message(), HasSubstr("num_requests"));
  o = {};
  o.categories.clear();
  EXPECT_FALSE(GenerateWorkload(o).ok());
  o = {};
  o.categories[0].weight = -1;
  EXPECT_THAT(GenerateWorkload(o).status().message(), HasSubstr("weight"));
  o = {};
  o.cv = 0;
  EXPECT_FALSE(GenerateWorkload(o).ok());
  o = {};
  o.rate_multiplier = INFINITY;
  EXPECT_FALSE(GenerateWorkload(o).ok());
  o = {};
  o.base_rate = -1;
  EXPECT_FALSE(GenerateWorkload(o).ok());
}

}  // namespace
}  // namespace orbitflow
