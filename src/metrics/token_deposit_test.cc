#include "metrics/token_deposit.h"

#include <vector>

#include <gtest/gtest.h>

namespace orbitflow {
namespace {

// Deposit, violations and releases after one gap.
struct Expect {
  double gap;
  bool violation;
  int64_t deposit;
  int64_t violations;
  int64_t releases;
};

// Feeds the gaps in order and checks the state after each one. Gaps and the SLO are binary
// fractions so every clock value below is exact.
void RunGaps(double slo, const std::vector<Expect>& steps) {
  TokenDeposit d{Seconds(slo)};
  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE(testing::Message() << "gap #" << i << " = " << steps[i].gap);
    EXPECT_EQ(d.AddGap(Seconds(steps[i].gap)), steps[i].violation);
    EXPECT_EQ(d.deposit(), steps[i].deposit);
    EXPECT_EQ(d.violations(), steps[i].violations);
    EXPECT_EQ(d.releases(), steps[i].releases);
  }
  EXPECT_EQ(d.gaps(), static_cast<int64_t>(steps.size()));
}

TEST(TokenDepositTest, StartsEmpty) {
  TokenDeposit d{Seconds(1)};
  EXPECT_EQ(d.deposit(), 0);
  EXPECT_EQ(d.violations(), 0);
  EXPECT_EQ(d.releases(), 0);
  EXPECT_EQ(d.peak(), 0);
}

TEST(TokenDepositTest, AllOnTimeNeverBuffersOrViolates) {
  // G + tau == O + S every time: G = O = 1, 2, 3, 4.
  RunGaps(1.0,
          {{1, false, 0, 0, 0}, {1, false, 0, 0, 0}, {1, false, 0, 0, 0}, {1, false, 0, 0, 0}});
}

TEST(TokenDepositTest, EarlyTokensCoverALongStall) {
  // Four fast tokens (G = 0.125 .. 0.5, all before O + S = 1; O stays 0; k = 4). The fifth
  // comes at G + tau = 4.5: releases move O to 1, 2, 3, 4 (k = 0); O + S = 5 >= 4.5, so it
  // joins the deposit (k = 1).
  RunGaps(1.0, {{0.125, false, 1, 0, 0},
                {0.125, false, 2, 0, 0},
                {0.125, false, 3, 0, 0},
                {0.125, false, 4, 0, 0},
                {4.0, false, 1, 0, 4}});
}

TEST(TokenDepositTest, EarlyTokensOnlyBufferUntilTheReleaseClockIsDue) {
  // O does not move for early tokens, so at S/2 every second token lands exactly on O + S and
  // is on time: the deposit grows by one per S.
  RunGaps(1.0, {{0.5, false, 1, 0, 0},    // G 0.5 < 1
                {0.5, false, 1, 0, 0},    // G 1 == O + S: on time, O = 1
                {0.5, false, 2, 0, 0},    // G 1.5 < 2
                {0.5, false, 2, 0, 0}});  // G 2 == 2: on time, O = 2
}

TEST(TokenDepositTest, StallBiggerThanTheDepositIsOneViolation) {
  // k = 2 at G = 0.5. Next token at 5: releases O = 1, 2 (k = 0); O + S = 3 < 5: violation,
  // O = 5. Then 1 s later (6 == O + S): on time; then 0.5 s (6.5 < 7): early again.
  RunGaps(1.0, {{0.25, false, 1, 0, 0},
                {0.25, false, 2, 0, 0},
                {4.5, true, 0, 1, 2},
                {1.0, false, 0, 1, 2},
                {0.5, false, 1, 1, 2}});
}

TEST(TokenDepositTest, AlternatingFastSlowIsAbsorbed) {
  // 0.5 then 1.5, repeated. Each slow token releases the one buffered by the fast token before
  // it, lands exactly on O + S and is buffered itself; its successor is then late by 0.5 and
  // spends that token. No violations, where scoring without deposit sees every 1.5 as late.
  RunGaps(1.0, {{0.5, false, 1, 0, 0},   // G 0.5, O 0
            {1.5, false, 1, 0, 1},   // G 2: release O 1; O + S = 2 == G: buffered
            {0.5, false, 1, 0, 2},   // G 2.5 > 2: release O 2; 3 >= 2.5: buffered
            {1.5, false, 1, 0, 3},   // G 4 > 3: release O 3; 4 >= 4: buffered
            {0.5, false, 1, 0, 4}}); // G 4.5 > 4: release O 4; 5 >= 4.5: buffered
}

TEST(TokenDepositTest, AlternatingWithStallsTooLongViolatesEverySlowToken) {
  // 0.5 then 2, repeated: the single buffered token covers only 1 s of each 2 s stall.
  RunGaps(1.0, {{0.5, false, 1, 0, 0},   // G 0.5
            {2.0, true, 0, 1, 1},    // G 2.5: release O 1; 2 < 2.5: violation, O = 2.5
            {0.5, false, 1, 1, 1},   // G 3 < 3.5: early
            {2.0, true, 0, 2, 2}});  // G 5: release O 3.5; 4.5 < 5: violation, O = 5
}

TEST(TokenDepositTest, LateWithEmptyDepositIsAViolationAndResetsTheReleaseClock) {
  // O jumps to G on a violation, so the next token is judged against the new clock.
  RunGaps(0.25, {{0.5, true, 0, 1, 0},     // G 0.5 > 0.25
             {0.25, false, 0, 1, 0},   // G 0.75 == O + S = 0.75: on time
             {0.125, false, 1, 1, 0}}); // G 0.875 < 1: early
}

TEST(TokenDepositTest, PeakTracksTheLargestDeposit) {
  TokenDeposit d{Seconds(1)};
  for (int i = 0; i < 3; ++i) d.AddGap(Seconds(0.25));  // k = 3 at G = 0.75, O = 0
  d.AddGap(Seconds(3.75));  // G 4.5: releases O = 1, 2, 3 (k = 0); 4 < 4.5: violation
  EXPECT_EQ(d.deposit(), 0);
  EXPECT_EQ(d.peak(), 3);
  EXPECT_EQ(d.violations(), 1);
  EXPECT_EQ(d.releases(), 3);
}

TEST(TokenDepositTest, EqualityIsToleranceBased) {
  // 0.1 + 0.2 == 0.30000000000000004 in doubles; with S = 0.3 that token is on time (no
  // release), where an exact comparison would call it late and spend the buffered token.
  TokenDeposit d{Seconds(0.3)};
  EXPECT_FALSE(d.AddGap(Seconds(0.1)));  // early, k = 1
  EXPECT_FALSE(d.AddGap(Seconds(0.2)));  // G = 0.1 + 0.2 vs O + S = 0.3: on time
  EXPECT_EQ(d.deposit(), 1);
  EXPECT_EQ(d.releases(), 0);
  // A real miss, 2 ns past the deadline, is late: the buffered token is released.
  EXPECT_FALSE(d.AddGap(Seconds(0.3 + 2e-9)));
  EXPECT_EQ(d.releases(), 1);
}

TEST(TokenDepositTest, LongAlternatingRunDoesNotDriftIntoViolations) {
  // AlternatingFastSlowIsAbsorbed scaled to S = 0.1: every slow token lands on O + S only up to
  // rounding (0.05 and 0.15 are not binary fractions). Over 20,000 gaps the clocks drift apart
  // by far less than the tolerance, so the pattern holds exactly: k = 1, one release per gap
  // after the first, never a violation.
  TokenDeposit d{Seconds(0.1)};
  for (int i = 0; i < 10000; ++i) {
    ASSERT_FALSE(d.AddGap(Seconds(0.05))) << i;
    ASSERT_FALSE(d.AddGap(Seconds(0.15))) << i;
  }
  EXPECT_EQ(d.deposit(), 1);
  EXPECT_EQ(d.releases(), 19999);
  EXPECT_EQ(d.violations(), 0);
}

TEST(LateGapTest, WithoutDepositAGapOverTheSloIsLate) {
  const Seconds slo(1.0);
  EXPECT_FALSE(IsLateGap(Seconds(0.5), slo));
  EXPECT_FALSE(IsLateGap(Seconds(1.0), slo));
  EXPECT_TRUE(IsLateGap(Seconds(1.0 + 1e-6), slo));
  EXPECT_TRUE(IsLateGap(Seconds(2.5), slo));
  EXPECT_FALSE(IsLateGap(Seconds(0.1 + 0.2), Seconds(0.3)));  // equal within tolerance
}

TEST(LateGapTest, SameSequencesWithoutDeposit) {
  // The alternating sequence 0.5, 1.5, 0.5, 1.5, 0.5: two late gaps without the deposit, none
  // with it (AlternatingFastSlowIsAbsorbed).
  int late = 0;
  for (double g : {0.5, 1.5, 0.5, 1.5, 0.5}) late += IsLateGap(Seconds(g), Seconds(1));
  EXPECT_EQ(late, 2);
  // The covered stall of EarlyTokensCoverALongStall: one late gap without the deposit.
  late = 0;
  for (double g : {0.125, 0.125, 0.125, 0.125, 4.0}) late += IsLateGap(Seconds(g), Seconds(1));
  EXPECT_EQ(late, 1);
}

}  // namespace
}  // namespace orbitflow
