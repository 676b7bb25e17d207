// The CPU transformer's forward pass over a batch of sequences, llama2.c's forward() grown to
// many sequences in one call and to a paged KV cache.
//
// One call runs every entry of the batch through every layer: decode entries (one new token) and
// prefill chunks (many tokens, causal within the chunk) side by side. All their tokens form one
// matrix of rows, so each weight matrix is streamed from memory once per call for the whole
// batch. Attention reads each sequence's KV through its per-layer block tables (paged_kv.h).
//
// Reproducibility: a row's arithmetic does not depend on the other rows, on the thread count or
// on where its KV blocks live, so a request's logits (and greedy tokens) are bit-identical
// whatever batch it is in, however its prompt was chunked, and whatever its KV placement.
//
// Allocation: none per call once the RunState exists (the decode path is allocation-free).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "exec/cpu/paged_kv.h"
#include "exec/cpu/thread_pool.h"
#include "model/weights.h"
#include "orbitflow/status.h"
#include "orbitflow/types.h"

namespace orbitflow {

// One sequence's share of a forward call: tokens at positions [start_pos, start_pos + n).
struct SequenceBatchEntry {
  std::span<const int32_t> tokens;  // [n] new tokens (n = 1 for decode)
  int start_pos = 0;                // tokens of this sequence already in its KV cache
  // One table per layer ([n_layers]); layer l's table covers positions [0, start_pos + n).
  // The pass writes the new tokens' K/V into slot pos % kBlockTokens of block
  // pos / kBlockTokens and reads the earlier slots. Entries must be distinct sequences.
  std::span<const KvBlockTable> layer_blocks;
  bool want_logits = true;          // logits of the last token (false for a non-final chunk)
};

// Lets the executor synchronise with the pass layer by layer (prefetch of offloaded layers).
// Calls come from the thread that called Forward, in layer order.
class LayerGate {
 public:
  virtual ~LayerGate() = default;
  // Before the pass writes or reads layer `layer`'s blocks (after its q/k/v projections, so a
  // copy still in flight overlaps them). Return once the blocks in the tables hold valid data.
  virtual void WaitForLayer(int layer) = 0;
  // After the layer's attention: this call will not touch the layer's blocks again, and the new
  // tokens' K/V are in them (a write-through mirror may copy them; a prefetch region is free).
  virtual void LayerDone(int layer) {}
};

struct RunStateOptions {
  int max_batch_tokens = 256;  // most rows (sum of n over the entries) in one call
  int max_logits = 64;         // most entries with want_logits in one call
  int num_threads = 1;         // most threads of the pool Forward will be given
};

// Scratch memory of the forward pass, sized once for the largest call (llama2.c's RunState).
// Rows are the batch's tokens, entry after entry. Shapes use T = max_batch_tokens.
struct RunState {
  // Creates buffers for `spec`; InvalidArgument if the spec or options are not usable.
  static StatusOr<RunState> Create(const ModelSpec& spec, const RunStateOptions& options);

  ModelSpec spec;                   // the shape the buffers were sized for
  RunStateOptions options;
  AlignedFloats x;                  // [T][dim] residual stream
  AlignedFloats xb;                 // [T][dim] normed input, then attention output
  AlignedFloats xb2;                // [T][dim] output projection / FFN output
  AlignedFloats q;                  // [T][dim] queries (n_heads x head_dim)
  AlignedFloats k;                  // [T][kv_dim] new keys, before they go to the blocks
  AlignedFloats v;                  // [T][kv_dim] new values
  AlignedFloats hb;                 // [T][hidden_dim] FFN gate, then silu(gate) * up
  AlignedFloats hb2;                // [T][hidden_dim] FFN up
  AlignedFloats rope;               // [T][head_dim] cos/sin table of each row's position
  AlignedFloats att;                // [num_threads][n_heads][max_seq_len] attention scores
  AlignedFloats x_final;            // [max_logits][dim] final-normed rows that want logits
  AlignedFloats logits;             // [max_logits][vocab]
  std::vector<int32_t> row_entry;   // [T] batch entry of each row
  std::vector<int32_t> row_pos;     // [T] position of each row in its sequence
  std::vector<int32_t> logit_row;   // [max_logits] row whose logits are wanted
  std::vector<Seconds> layer_compute;  // [n_layers]
  std::vector<Seconds> layer_wait;     // [n_layers]
};

// What one Forward call produced. Views into the RunState: valid until its next Forward.
struct ForwardOutput {
  int n_logits = 0;                  // entries with want_logits, in batch order
  int vocab_size = 0;
  std::span<const float> logits;     // [n_logits][vocab]
  std::span<const Seconds> layer_compute;  // [n_layers] wall time per layer, waits excluded
  std::span<const Seconds> layer_wait;     // [n_layers] time blocked in WaitForLayer
  Seconds total{0};                        // the whole call

  // Logits of the i-th entry that wanted them.                                 [vocab]
  std::span<const float> row(int i) const {
    return logits.subspan(static_cast<size_t>(i) * vocab_size, vocab_size);
  }
};

// Runs the batch through the model, writing the new tokens' K/V into the block tables.
// Returns InvalidArgument (and changes nothing) if an entry is malformed: empty, out of the
// model's context, token ids outside the vocabulary, missing or short block tables, or a batch
// larger than the RunState. `gate` may be null (every layer's blocks are always valid).
// REQUIRES: state was created for model.spec; pool->num_threads() <= options.num_threads.
StatusOr<ForwardOutput> Forward(const Model& model, std::span<const SequenceBatchEntry> batch,
                                RunState* state, ThreadPool* pool, LayerGate* gate = nullptr);

}  // namespace orbitflow
