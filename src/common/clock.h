// The one seam for time: the live engine reads a steady clock, the simulator a virtual one that
// its executor advances. Engine code is identical under both.
#pragma once

#include <atomic>
#include <chrono>

#include "orbitflow/types.h"

namespace orbitflow {

class Clock {
 public:
  virtual ~Clock() = default;
  // Time since the clock's epoch (construction for SteadyClock, zero for VirtualClock).
  virtual Seconds Now() const = 0;
};

// Wall time from std::chrono::steady_clock, counted from construction.
class SteadyClock final : public Clock {
 public:
  SteadyClock() : start_(std::chrono::steady_clock::now()) {}
  Seconds Now() const override {
    return std::chrono::duration_cast<Seconds>(std::chrono::steady_clock::now() - start_);
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Time that moves only when told to. Thread-safe reads; one writer (the simulator).
class VirtualClock final : public Clock {
 public:
  Seconds Now() const override { return Seconds(now_.load(std::memory_order_acquire)); }
  // REQUIRES: dt >= 0.
  void Advance(Seconds dt) { now_.store(now_.load() + dt.count(), std::memory_order_release); }
  // REQUIRES: t >= Now().
  void AdvanceTo(Seconds t) {
    if (t.count() > now_.load()) now_.store(t.count(), std::memory_order_release);
  }

 private:
  std::atomic<double> now_{0.0};
};

}  // namespace orbitflow
