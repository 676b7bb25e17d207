#include "exec/sim/step_timeline.h"

#include <algorithm>
#include <cassert>
#include <cstddef>

namespace orbitflow {

void StepTimeline::Reset(int num_layers, double link_blocks_per_s) {
  assert(num_layers > 0 && link_blocks_per_s > 0);
  // Clear the previous step's group index through its group list: O(G), not O(L).
  for (const Group& g : groups_) group_of_prefetch_[g.prefetch_ahead] = -1;
  groups_.clear();
  num_layers_ = num_layers;
  link_blocks_per_s_ = link_blocks_per_s;
  link_free_ = 0;
  has_moves_ = false;
  ready_.assign(num_layers, 0.0);
  move_needed_.assign(num_layers, 0);
  move_other_.assign(num_layers, 0);
  // A distance with an offloaded layer has d <= L - 1, so PrefetchAhead() <= L - 1.
  if (group_of_prefetch_.size() != static_cast<size_t>(num_layers) + 1) {
    group_of_prefetch_.assign(static_cast<size_t>(num_layers) + 1, -1);
  }
}

void StepTimeline::AddMove(int layer, int64_t blocks, bool needed_by_decode) {
  assert(layer >= 0 && layer < num_layers_);
  (needed_by_decode ? move_needed_ : move_other_)[layer] += blocks;
  has_moves_ = true;
}

int StepTimeline::PrefetchRow(Distance distance) {
  assert(!distance.all_device());
  const int ahead = std::min(distance.PrefetchAhead(), num_layers_);
  int& row = group_of_prefetch_[ahead];
  if (row < 0) {
    // A new group gets the next row of blocks_, zeroed; the buffer only ever grows.
    row = static_cast<int>(groups_.size());
    groups_.push_back({ahead, row});
    const size_t need = groups_.size() * static_cast<size_t>(num_layers_);
    if (blocks_.size() < need) blocks_.resize(need);
    std::fill_n(blocks_.begin() + static_cast<std::ptrdiff_t>(need - num_layers_), num_layers_, int64_t{0});
  }
  return row;
}

void StepTimeline::Issue(int layer, int64_t blocks, double t) {
  link_free_ = std::max(link_free_, t) + static_cast<double>(blocks) / link_blocks_per_s_;
  ready_[layer] = std::max(ready_[layer], link_free_);
}

void StepTimeline::RunMoves() {
  if (!has_moves_) return;
  // All moves are issued at t = 0, before any prefetch (kind 0 < kind 1): by layer, and within
  // a layer the ones the decode waits on first.
  for (int l = 0; l < num_layers_; ++l) {
    if (move_needed_[l] > 0) Issue(l, move_needed_[l], 0.0);
    link_free_ += static_cast<double>(move_other_[l]) / link_blocks_per_s_;
  }
}

void StepTimeline::RunMovesOnly() { RunMoves(); }

StepTimeline::DecodeTimes StepTimeline::RunDecode(double decode_start, double layer_compute) {
  RunMoves();
  // Within one issue instant, a smaller prefetch distance serves a nearer layer: sorting the
  // groups by it makes the inner loops issue in (target layer, ...) order.
  std::sort(groups_.begin(), groups_.end(),
            [](const Group& a, const Group& b) { return a.prefetch_ahead < b.prefetch_ahead; });
  const int L = num_layers_;

  // Transfers whose layer is closer than their prefetch distance: issued when the decode phase
  // starts (only layer 0 under d = 0 with the spec's distances), nearest layer first.
  const int max_ahead = groups_.empty() ? 0 : groups_.back().prefetch_ahead;
  for (int l = 0; l < std::min(max_ahead, L); ++l) {
    for (const Group& g : groups_) {
      if (l < g.prefetch_ahead && Blocks(g, l) > 0) Issue(l, Blocks(g, l), decode_start);
    }
  }

  // The sweep: layer k starts when layer k-1 is done and its data is in; its start issues the
  // prefetches of layers k + ahead for every group, nearest first.
  DecodeTimes out;
  double prev_end = decode_start;
  for (int k = 0; k < L; ++k) {
    const double start = std::max(prev_end, ready_[k]);
    out.stall += start - prev_end;
    for (const Group& g : groups_) {
      const int target = k + g.prefetch_ahead;
      if (target >= L) break;  // groups are sorted: every later one targets further
      if (Blocks(g, target) > 0) Issue(target, Blocks(g, target), start);
    }
    prev_end = start + layer_compute;
  }
  out.end = prev_end;
  return out;
}

}  // namespace orbitflow
