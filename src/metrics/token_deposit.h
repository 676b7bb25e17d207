// Token Deposit (spec section 6): scoring a request's token gaps when tokens produced ahead of
// the SLO are buffered and released to the client at most once per S, so that a buffered token
// can cover a later slow step instead of that step showing up as a violation.
//
// State, all starting at 0: G is the generation clock (when the latest token was produced,
// relative to the first token), O the release clock (when the latest token went to the client),
// k the number of tokens in the deposit. For each gap tau:
//   - G + tau <  O + S: early; the token joins the deposit: k += 1, G += tau.
//   - G + tau == O + S: on time: G += tau, O += S.
//   - G + tau >  O + S: late. While k > 0 and O + S < G + tau, release a buffered token
//     (k -= 1, O += S). If still O + S < G + tau the token is a violation (G += tau, O = G);
//     otherwise it joins the deposit (k += 1, G += tau).
// Clocks are sums of doubles, so "equal" means within kTimeTolerance (1 ns): a gap of
// 0.1 + 0.2 against S = 0.3 is on time, not late.
//
// Not thread-safe; one instance per request, fed in token order.
#pragma once

#include <cstdint>

#include "orbitflow/types.h"

namespace orbitflow {

// Two times closer than this are treated as equal when scoring. Far below any step time and far
// above the rounding error of summing thousands of gaps.
inline constexpr double kTimeTolerance = 1e-9;

class TokenDeposit {
 public:
  // REQUIRES: slo > 0.
  explicit TokenDeposit(Seconds slo) : slo_(slo.count()) {}

  // Scores the next token, `tau` after the previous one. Returns true iff it is a violation.
  bool AddGap(Seconds tau);

  // Tokens currently buffered (k).
  int64_t deposit() const { return deposit_; }
  // Largest deposit seen so far.
  int64_t peak() const { return peak_; }
  // Tokens scored as violations so far.
  int64_t violations() const { return violations_; }
  // Buffered tokens released to cover a late token (each k -= 1 of the late case).
  int64_t releases() const { return releases_; }
  // Gaps scored so far.
  int64_t gaps() const { return gaps_; }

 private:
  double slo_;
  double generated_ = 0;  // G
  double released_ = 0;   // O
  int64_t deposit_ = 0;   // k
  int64_t peak_ = 0;
  int64_t violations_ = 0;
  int64_t releases_ = 0;
  int64_t gaps_ = 0;
};

// Scoring without a deposit: a gap is late iff it exceeds the SLO by more than kTimeTolerance.
constexpr bool IsLateGap(Seconds gap, Seconds slo) {
  return gap.count() > slo.count() + kTimeTolerance;
}

}  // namespace orbitflow
