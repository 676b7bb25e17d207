#include "model/synthetic.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

#include "model/weight_layout.h"

namespace orbitflow {

namespace {

uint64_t Mix(uint64_t x) {
  // SplitMix64's finalizer: a bijection with good avalanche, so consecutive counters give
  // independent-looking values.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

// A run of the blob filled with uniform values in [center - half_width, center + half_width).
struct Region {
  int64_t begin;
  int64_t end;
  float center;
  float half_width;
};

std::vector<Region> Regions(const ModelSpec& s, const WeightCounts& c) {
  const float in_dim = 1.0f / std::sqrt(static_cast<float>(s.dim));
  const float in_hidden = 1.0f / std::sqrt(static_cast<float>(s.hidden_dim));
  // BindContiguous order: embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, wcls.
  const std::pair<int64_t, std::pair<float, float>> parts[] = {
      {c.token_embedding, {0.0f, in_dim}},
      {c.rms_att, {1.0f, 0.1f}},
      {c.wq, {0.0f, in_dim}},
      {c.wk, {0.0f, in_dim}},
      {c.wv, {0.0f, in_dim}},
      {c.wo, {0.0f, in_dim}},
      {c.rms_ffn, {1.0f, 0.1f}},
      {c.w1, {0.0f, in_dim}},
      {c.w2, {0.0f, in_hidden}},
      {c.w3, {0.0f, in_dim}},
      {c.rms_final, {1.0f, 0.1f}},
      {c.wcls, {0.0f, in_dim}},
  };
  std::vector<Region> out;
  int64_t at = 0;
  for (const auto& [count, scale] : parts) {
    out.push_back({at, at + count, scale.first, scale.second});
    at += count;
  }
  return out;
}

void Fill(float* blob, int64_t begin, int64_t end, const std::vector<Region>& regions, uint64_t seed) {
  const uint64_t key = Mix(seed ^ 0x6a09e667f3bcc909ull);
  constexpr float kToUnit = 2.0f / 16777216.0f;  // 24 bits -> [0, 2)
  for (const Region& r : regions) {
    const int64_t lo = std::max(begin, r.begin), hi = std::min(end, r.end);
    // One hash per element pair (2k, 2k+1): its two 24-bit halves give the two values.
    for (int64_t pair = lo >> 1; pair <= (hi - 1) >> 1 && lo < hi; ++pair) {
      const uint64_t h = Mix(key + static_cast<uint64_t>(pair) * 0x9e3779b97f4a7c15ull);
      const float u0 = static_cast<float>((h >> 8) & 0xffffffu) * kToUnit - 1.0f;  // [-1, 1)
      const float u1 = static_cast<float>(h >> 40) * kToUnit - 1.0f;
      const int64_t i = 2 * pair;
      if (i >= lo) blob[i] = r.center + r.half_width * u0;
      if (i + 1 < hi) blob[i + 1] = r.center + r.half_width * u1;
    }
  }
}

// Uninitialised anonymous memory: the fill threads write every float, so the first touch of
// each page (the kernel's zeroing) happens in parallel instead of in a zero-fill pass. Huge
// pages were tried: with the kernel's synchronous compaction they made generation slower.
StatusOr<std::shared_ptr<float>> AllocateUntouched(size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return ResourceExhausted(
        fmt::format("synthetic model: cannot map {} bytes: {}", bytes, std::strerror(errno)));
  }
  return std::shared_ptr<float>(static_cast<float*>(p), [bytes](float* q) { ::munmap(q, bytes); });
}

int64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : int64_t{1} << 62;
}

}  // namespace

StatusOr<Model> MakeSyntheticModel(ModelSpec spec, const SyntheticOptions& options) {
  spec.synthetic = true;
  OF_ASSIGN_OR_RETURN(WeightCounts counts, CountWeights(spec));
  const int64_t bytes = counts.total * 4;
  const int64_t limit = PhysicalMemoryBytes() / 10 * 9;
  if (bytes > limit) {
    return ResourceExhausted(
        fmt::format("synthetic model '{}' needs {:.1f} GiB of weights; this machine has {:.1f} "
                    "GiB of memory. Pick a smaller model.",
                    spec.name, bytes / 1073741824.0, PhysicalMemoryBytes() / 1073741824.0));
  }
  OF_ASSIGN_OR_RETURN(std::shared_ptr<float> blob, AllocateUntouched(static_cast<size_t>(bytes)));
  const std::vector<Region> regions = Regions(spec, counts);
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = static_cast<int>(std::clamp<int64_t>(options.threads > 0 ? options.threads : hw, 1,
                                                           std::max<int64_t>(1, counts.total >> 16)));
  std::vector<std::thread> workers;
  const int64_t per = (counts.total + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    const int64_t begin = std::min(counts.total, t * per), end = std::min(counts.total, begin + per);
    try {
      workers.emplace_back(Fill, blob.get(), begin, end, std::cref(regions), options.seed);
    } catch (const std::system_error&) {
      Fill(blob.get(), begin, end, regions, options.seed);  // no thread to spare: do it here
    }
  }
  for (std::thread& w : workers) w.join();

  Model m;
  m.spec = std::move(spec);
  BindContiguous(m.spec, counts, blob.get(), &m.weights);
  m.weights.keepalive = std::move(blob);
  return m;
}

}  // namespace orbitflow
