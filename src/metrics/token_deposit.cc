#include "metrics/token_deposit.h"

#include <algorithm>

namespace orbitflow {

bool TokenDeposit::AddGap(Seconds tau) {
  ++gaps_;
  const double produced = generated_ + tau.count();  // G + tau
  // a < b with a tolerance: a is before b by more than kTimeTolerance.
  auto before = [](double a, double b) { return a < b - kTimeTolerance; };

  if (before(produced, released_ + slo_)) {  // early
    ++deposit_;
    peak_ = std::max(peak_, deposit_);
    generated_ = produced;
    return false;
  }
  if (!before(released_ + slo_, produced)) {  // on time (equal within the tolerance)
    generated_ = produced;
    released_ += slo_;
    return false;
  }
  // Late: spend the deposit one token at a time until the release clock catches up.
  while (deposit_ > 0 && before(released_ + slo_, produced)) {
    --deposit_;
    ++releases_;
    released_ += slo_;
  }
  generated_ = produced;
  if (before(released_ + slo_, produced)) {
    released_ = generated_;
    ++violations_;
    return true;
  }
  ++deposit_;
  peak_ = std::max(peak_, deposit_);
  return false;
}

}  // namespace orbitflow
