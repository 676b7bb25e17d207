#include "kv/placement.h"

#include <algorithm>

namespace orbitflow {

std::vector<Distance> CandidateDistances(int num_layers) {
  std::vector<Distance> out{Distance::AllDevice()};
  // For each distinct n_off, keep the largest d with floor(L/(d+1)) == n_off. Scanning d from
  // large to small meets each n_off first at its widest d.
  int last_n_off = 0;
  for (int d = num_layers - 1; d >= 1; --d) {
    const int n_off = num_layers / (d + 1);
    if (n_off != last_n_off) {
      out.push_back(Distance::Every(d));
      last_n_off = n_off;
    }
  }
  out.push_back(Distance::Every(0));
  return out;
}

LayerMask LayerMask::FromDistance(Distance d, int num_layers) {
  LayerMask m(num_layers, true);
  for (int l = 0; l < num_layers; ++l) m.on_device_[l] = !d.OnHost(l);
  return m;
}

LayerMask LayerMask::Paused(int num_layers) {
  LayerMask m(num_layers, false);
  if (num_layers > 0) m.on_device_[0] = true;
  return m;
}

int LayerMask::NumOnDevice() const {
  return static_cast<int>(std::count(on_device_.begin(), on_device_.end(), true));
}

}  // namespace orbitflow
