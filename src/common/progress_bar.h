// A progress bar for long runs: redraws one line on a TTY, prints nothing otherwise (logs and CI
// output stay clean). Writes to stderr so stdout keeps only results.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace orbitflow {

struct ProgressBarOptions {
  std::string label;
  int64_t total = 0;
  // Force on/off; by default on only when stderr is a terminal.
  enum class Mode { kAuto, kOn, kOff } mode = Mode::kAuto;
  int width = 30;
};

class ProgressBar {
 public:
  explicit ProgressBar(ProgressBarOptions options, std::FILE* out = stderr);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Sets the count done; redraws at most ~10 times a second.
  void Update(int64_t done);
  // Draws the final state and ends the line.
  void Finish();
  bool enabled() const { return enabled_; }
  // The text of the bar for `done` (exposed for tests).
  std::string Render(int64_t done) const;

 private:
  ProgressBarOptions options_;
  std::FILE* out_;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace orbitflow
