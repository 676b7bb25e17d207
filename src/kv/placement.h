// Where a request's layers live: the spec's "distance" (section 2) and the per-layer mask it
// produces. Layers are 0-based here; the spec's layer j is layer j-1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace orbitflow {

// A request's offload distance d: spec layer j (1-based) lives only on the host iff
// j mod (d + 1) == 0, and is prefetched d layers ahead of its use. AllDevice() keeps every layer
// on the device (the spec's d = -1); Every(0) offloads every layer.
class Distance {
 public:
  static constexpr Distance AllDevice() { return Distance(kAllDeviceRep); }
  // REQUIRES: d >= 0.
  static constexpr Distance Every(int d) { return Distance(d); }

  constexpr bool all_device() const { return d_ == kAllDeviceRep; }
  // The spec's d; -1 for AllDevice(). Use for printing and arithmetic in formulas.
  constexpr int spec_value() const { return d_; }
  // True iff 0-based `layer` lives only on the host.
  constexpr bool OnHost(int layer) const { return !all_device() && (layer + 1) % (d_ + 1) == 0; }
  // n_off(d) = floor(L / (d + 1)); 0 for AllDevice().
  constexpr int NumOffloaded(int num_layers) const {
    return all_device() ? 0 : num_layers / (d_ + 1);
  }
  // How many layers ahead an offloaded layer's prefetch is issued: d, but at least one (d = 0,
  // DeepSpeed-style, still fetches one layer ahead; spec section 8).
  constexpr int PrefetchAhead() const { return all_device() ? 0 : (d_ < 1 ? 1 : d_); }
  std::string ToString() const { return std::to_string(d_); }

  friend constexpr bool operator==(Distance, Distance) = default;

 private:
  static constexpr int kAllDeviceRep = -1;
  constexpr explicit Distance(int d) : d_(d) {}
  int d_;
};

// The distances worth considering for L layers: the widest d per distinct n_off (spec section 2),
// widest first, plus AllDevice() first and Every(0) last. For L = 32: -1, 31, 15, 9, 7, 5, 4, 3,
// 2, 1, 0.
std::vector<Distance> CandidateDistances(int num_layers);

// Per-layer residency of one request: true = the layer's KV is kept on the device.
class LayerMask {
 public:
  LayerMask() = default;
  explicit LayerMask(int num_layers, bool on_device) : on_device_(num_layers, on_device) {}
  static LayerMask FromDistance(Distance d, int num_layers);
  // Pause-Resume: only the first layer stays on the device (spec section 7).
  static LayerMask Paused(int num_layers);

  int num_layers() const { return static_cast<int>(on_device_.size()); }
  bool on_device(int layer) const { return on_device_[layer]; }
  void set_on_device(int layer, bool v) { on_device_[layer] = v; }
  int NumOnDevice() const;
  friend bool operator==(const LayerMask&, const LayerMask&) = default;

 private:
  std::vector<bool> on_device_;
};

}  // namespace orbitflow
