// The most recent N samples of a quantity (a ring buffer), for exact latency percentiles of the
// recent past without unbounded memory. Not thread-safe: one owner thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace orbitflow {

class SampleWindow {
 public:
  // REQUIRES: capacity >= 1.
  explicit SampleWindow(size_t capacity) : capacity_(capacity) { values_.reserve(capacity); }

  void Add(double v) {
    if (values_.size() < capacity_) {
      values_.push_back(v);
    } else {
      values_[next_] = v;
    }
    next_ = (next_ + 1) % capacity_;
    ++total_;
  }
  // The samples held (at most capacity, oldest overwritten first), in no particular order.
  const std::vector<double>& values() const { return values_; }
  // Samples ever added.
  int64_t total() const { return total_; }

 private:
  size_t capacity_;
  std::vector<double> values_;
  size_t next_ = 0;
  int64_t total_ = 0;
};

}  // namespace orbitflow
