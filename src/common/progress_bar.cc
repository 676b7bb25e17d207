#include "common/progress_bar.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

namespace orbitflow {

ProgressBar::ProgressBar(ProgressBarOptions options, std::FILE* out)
    : options_(std::move(options)), out_(out), start_(std::chrono::steady_clock::now()) {
  switch (options_.mode) {
    case ProgressBarOptions::Mode::kOn: enabled_ = true; break;
    case ProgressBarOptions::Mode::kOff: enabled_ = false; break;
    case ProgressBarOptions::Mode::kAuto: enabled_ = out_ && isatty(fileno(out_)); break;
  }
}

ProgressBar::~ProgressBar() {
  if (enabled_ && !finished_) std::fputc('\n', out_);
}

std::string ProgressBar::Render(int64_t done) const {
  const int64_t total = std::max<int64_t>(options_.total, 1);
  done = std::clamp<int64_t>(done, 0, total);
  const double frac = static_cast<double>(done) / static_cast<double>(total);
  const int filled = static_cast<int>(frac * options_.width);
  std::string bar(filled, '#');
  bar.resize(options_.width, '.');
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return fmt::format("{} [{}] {}/{} ({:.0f}%) {:.1f}s", options_.label, bar, done, options_.total,
                     frac * 100.0, elapsed);
}

void ProgressBar::Update(int64_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done < options_.total) return;
  last_draw_ = now;
  std::fprintf(out_, "\r%s", Render(done).c_str());
  std::fflush(out_);
}

void ProgressBar::Finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  std::fprintf(out_, "\r%s\n", Render(options_.total).c_str());
  std::fflush(out_);
}

}  // namespace orbitflow
