#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/progress_bar.h"
#include "orbitflow/status.h"
#include "orbitflow/types.h"

namespace orbitflow {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

Status Quarter(int x, int* out) {
  OF_ASSIGN_OR_RETURN(int h, Half(x));
  OF_ASSIGN_OR_RETURN(*out, Half(h));
  return Status::Ok();
}

TEST(StatusTest, CarriesCodeAndMessage) {
  Status s = NotFound("no such file 'x'");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "NOT_FOUND: no such file 'x'");
  EXPECT_EQ(s.Annotate("loading model").message(), "loading model: no such file 'x'");
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(Status::Ok().Annotate("ctx"), Status::Ok());
}

TEST(StatusTest, MacrosPropagate) {
  int out = 0;
  EXPECT_TRUE(Quarter(8, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = Quarter(6, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd: 3");
}

TEST(TypesTest, BlocksForTokensRoundsUp) {
  EXPECT_EQ(BlocksForTokens(0), 0);
  EXPECT_EQ(BlocksForTokens(1), 1);
  EXPECT_EQ(BlocksForTokens(16), 1);
  EXPECT_EQ(BlocksForTokens(17), 2);
  EXPECT_EQ(BlocksForTokens(32384), 2024);
}

TEST(TypesTest, StrongIdsCompareWithinKind) {
  RequestId a(3), b(5);
  EXPECT_LT(a, b);
  EXPECT_EQ(a, RequestId(3));
  EXPECT_EQ((Bytes(10) + Bytes(5) * 2).count(), 20);
}

TEST(ClockTest, VirtualClockMovesOnlyWhenTold) {
  VirtualClock c;
  EXPECT_EQ(c.Now().count(), 0.0);
  c.Advance(Seconds(0.25));
  c.AdvanceTo(Seconds(0.1));  // never backwards
  EXPECT_DOUBLE_EQ(c.Now().count(), 0.25);
  c.AdvanceTo(Seconds(1.0));
  EXPECT_DOUBLE_EQ(c.Now().count(), 1.0);
}

TEST(ProgressBarTest, RendersFractionAndIsSilentOffTty) {
  ProgressBar bar({.label = "sim", .total = 4, .mode = ProgressBarOptions::Mode::kOff});
  EXPECT_FALSE(bar.enabled());
  const std::string r = bar.Render(1);
  EXPECT_NE(r.find("sim ["), std::string::npos);
  EXPECT_NE(r.find("1/4 (25%)"), std::string::npos);
  EXPECT_NE(bar.Render(99).find("4/4 (100%)"), std::string::npos);
}

}  // namespace
}  // namespace orbitflow
