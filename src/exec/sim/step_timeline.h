// The event model of one simulated step: one FIFO host-to-device link and the layer-by-layer
// decode compute that waits on it. SimExecutor feeds it the step's work; it answers when each
// layer could start, how long compute stalled, and when the link went idle.
//
// Events and their total order. Every event is ordered by (time, kind, sequence number):
//   kind 0, move:      a layer-block copy of a plan change, issued at the step start (t = 0);
//   kind 1, prefetch:  a decode transfer of one offloaded (request, layer), issued when compute
//                      of layer l - PrefetchAhead() starts, or when the decode phase starts if
//                      that index is negative;
//   kind 2, compute:   layer k starts once layer k-1 has finished and every transfer layer k
//                      needs has completed.
// Transfers issued at the same instant enter the FIFO link in sequence order: the layer they
// serve first (the layer needed soonest goes first), then moves needed by the decode before
// moves that are not, then batch order. Transfers for the same layer issued together are
// contiguous on the link, so they are merged into one transfer of their summed blocks; that
// changes no completion time that any layer waits on.
//
// Why a sweep reproduces the event queue exactly: a transfer layer k needs is issued at the
// start of layer k - PrefetchAhead() <= k - 1 (PrefetchAhead() >= 1) or earlier, so when the
// sweep reaches layer k every transfer issued before layer k starts is already on the link, and
// the FIFO link serves later-issued transfers only after them, so nothing issued later can change
// when layer k's data arrives. Compute start times never decrease, so issuing in layer order is
// issuing in time order. Hence a single pass over layers, each issuing its transfers in the
// tie order above, computes the same start times as a priority queue, in O(L x G) time with G
// the number of distinct prefetch distances in the batch, and with no allocation once warm.
//
// Not thread-safe; one per executor.
#pragma once

#include <cstdint>
#include <vector>

#include "kv/placement.h"

namespace orbitflow {

class StepTimeline {
 public:
  struct DecodeTimes {
    double end = 0;    // when the last layer's compute finished (seconds from step start)
    double stall = 0;  // total time layers waited for data after the previous layer finished
  };

  // Starts a step for `num_layers` layers on a link moving `link_blocks_per_s` layer-blocks per
  // second. Keeps the buffers' capacity. REQUIRES: num_layers > 0, link_blocks_per_s > 0.
  void Reset(int num_layers, double link_blocks_per_s);

  // A plan-change copy of `blocks` layer-blocks of `layer`, on the link at t = 0. When
  // `needed_by_decode`, that layer's decode compute waits for it.
  void AddMove(int layer, int64_t blocks, bool needed_by_decode);

  // The row that collects prefetches of requests whose distance is `distance` (requests with
  // the same PrefetchAhead() share one), for AddPrefetch. REQUIRES: !distance.all_device();
  // before RunDecode.
  int PrefetchRow(Distance distance);
  // One decode request's offloaded `layer` needs `link_blocks` layer-blocks, prefetched as the
  // row's distance says. Call once per (request, offloaded layer). REQUIRES: 0 <= layer < L.
  void AddPrefetch(int row, int layer, int64_t link_blocks) {
    blocks_[static_cast<size_t>(row) * num_layers_ + layer] += link_blocks;
  }

  // Runs the moves and then the decode phase starting at `decode_start` (after the prefill),
  // with per-layer compute `layer_compute` (seconds). Call at most once per Reset; with no
  // decode (say, a prefill-only step) call RunMovesOnly instead.
  DecodeTimes RunDecode(double decode_start, double layer_compute);
  void RunMovesOnly();

  // When the link has finished everything issued this step (0 if it did nothing).
  double link_idle() const { return link_free_; }

 private:
  // One group of decode requests sharing a prefetch distance (PrefetchAhead()): their blocks per
  // target layer, summed, in row `row` of blocks_.
  struct Group {
    int prefetch_ahead = 0;
    int row = 0;
  };

  void RunMoves();
  // Puts `blocks` for `layer` on the link no earlier than `t`; layer's data is ready when done.
  void Issue(int layer, int64_t blocks, double t);
  int64_t& Blocks(const Group& g, int layer) { return blocks_[static_cast<size_t>(g.row) * num_layers_ + layer]; }

  int num_layers_ = 0;
  double link_blocks_per_s_ = 1;
  double link_free_ = 0;
  bool has_moves_ = false;
  std::vector<double> ready_;            // per layer: when its last needed transfer completes
  std::vector<int64_t> move_needed_;     // per layer: move blocks the decode waits on
  std::vector<int64_t> move_other_;      // per layer: move blocks of requests not decoding
  std::vector<int> group_of_prefetch_;   // prefetch distance -> its group's row, or -1
  std::vector<Group> groups_;            // this step's groups, sorted by prefetch_ahead in Run
  std::vector<int64_t> blocks_;          // groups_.size() rows x num_layers_
};

}  // namespace orbitflow
