#include "exec/cpu/forward.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "exec/cpu/attention.h"
#include "exec/cpu/kernels.h"

namespace orbitflow {
namespace {

using Clock = std::chrono::steady_clock;

// Attention tasks per thread to aim for when splitting rows into head groups.
constexpr int kAttentionTasksPerThread = 2;

// Validation of a call's inputs; runs before anything is written. Cost: O(entries x layers).
Status CheckEntry(const ModelSpec& p, const SequenceBatchEntry& e, size_t index) {
  auto bad = [&](std::string what) {
    return InvalidArgument(fmt::format("forward: batch entry {}: {}", index, what));
  };
  const int64_t n = static_cast<int64_t>(e.tokens.size());
  if (n == 0) return bad("has no tokens");
  if (e.start_pos < 0 || e.start_pos + n > p.max_seq_len) {
    return bad(fmt::format("positions [{}, {}) outside the model's context of {}", e.start_pos,
                           e.start_pos + n, p.max_seq_len));
  }
  for (int32_t t : e.tokens) {
    if (t < 0 || t >= p.vocab_size) {
      return bad(fmt::format("token id {} outside the vocabulary [0, {})", t, p.vocab_size));
    }
  }
  if (static_cast<int>(e.layer_blocks.size()) != p.n_layers) {
    return bad(fmt::format("{} block tables for a {}-layer model", e.layer_blocks.size(),
                           p.n_layers));
  }
  const int64_t blocks = BlocksForTokens(e.start_pos + n);
  for (int l = 0; l < p.n_layers; ++l) {
    const KvBlockTable table = e.layer_blocks[l];
    if (static_cast<int64_t>(table.size()) < blocks) {
      return bad(fmt::format("layer {} has {} blocks, {} tokens need {}", l, table.size(),
                             e.start_pos + n, blocks));
    }
    for (int64_t b = 0; b < blocks; ++b) {
      if (table[b] == nullptr) return bad(fmt::format("layer {} block {} is null", l, b));
    }
  }
  return Status::Ok();
}

Status CheckCall(const Model& model, std::span<const SequenceBatchEntry> batch,
                 const RunState& s, const ThreadPool& pool) {
  const ModelSpec& p = model.spec;
  const TransformerWeights& w = model.weights;
  if (s.spec.dim != p.dim || s.spec.hidden_dim != p.hidden_dim || s.spec.n_layers != p.n_layers ||
      s.spec.n_heads != p.n_heads || s.spec.n_kv_heads != p.n_kv_heads ||
      s.spec.vocab_size != p.vocab_size || s.spec.max_seq_len != p.max_seq_len) {
    return InvalidArgument(fmt::format("forward: run state sized for '{}', model is '{}'",
                                       s.spec.name, p.name));
  }
  if (pool.num_threads() > s.options.num_threads) {
    return InvalidArgument(fmt::format("forward: pool has {} threads, run state sized for {}",
                                       pool.num_threads(), s.options.num_threads));
  }
  if (!w.token_embedding || !w.rms_att || !w.wq || !w.wk || !w.wv || !w.wo || !w.rms_ffn ||
      !w.w1 || !w.w2 || !w.w3 || !w.rms_final || (!w.wcls && !p.shared_classifier)) {
    return InvalidArgument(fmt::format("forward: model '{}' has missing weights", p.name));
  }
  int64_t rows = 0, logits = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    OF_RETURN_IF_ERROR(CheckEntry(p, batch[i], i));
    rows += static_cast<int64_t>(batch[i].tokens.size());
    logits += batch[i].want_logits ? 1 : 0;
  }
  if (rows > s.options.max_batch_tokens || logits > s.options.max_logits) {
    return InvalidArgument(fmt::format(
        "forward: batch of {} tokens and {} logit rows exceeds the run state ({} and {})", rows,
        logits, s.options.max_batch_tokens, s.options.max_logits));
  }
  return Status::Ok();
}

// Lays the batch out as rows (entry after entry) and embeds the tokens.
//   x [T][dim], rope [T][head_dim]; row_entry, row_pos [T]; logit_row [n_logits].
// Returns {T, n_logits}.
std::pair<int, int> EmbedRows(const Model& model, std::span<const SequenceBatchEntry> batch,
                              RunState* s) {
  const ModelSpec& p = model.spec;
  const int dim = p.dim, head_dim = p.head_dim();
  int row = 0, n_logits = 0;
  for (size_t e = 0; e < batch.size(); ++e) {
    const SequenceBatchEntry& entry = batch[e];
    for (size_t i = 0; i < entry.tokens.size(); ++i, ++row) {
      const int pos = entry.start_pos + static_cast<int>(i);
      s->row_entry[row] = static_cast<int32_t>(e);
      s->row_pos[row] = pos;
      std::memcpy(&s->x[int64_t{row} * dim],
                  model.weights.token_embedding + int64_t{entry.tokens[i]} * dim,
                  sizeof(float) * dim);
      RopeTable(&s->rope[int64_t{row} * head_dim], head_dim, pos, p.rope_theta);
    }
    if (entry.want_logits) s->logit_row[n_logits++] = row - 1;
  }
  return {row, n_logits};
}

// One layer's attention block: x += Wo . attention(rmsnorm(x)). Returns time spent in the gate.
Seconds AttentionBlock(const Model& model, int l, std::span<const SequenceBatchEntry> batch,
                       int rows, RunState* s, ThreadPool* pool, LayerGate* gate) {
  const ModelSpec& p = model.spec;
  const TransformerWeights& w = model.weights;
  const int dim = p.dim, kv_dim = p.kv_dim(), head_dim = p.head_dim();
  const int n_heads = p.n_heads;

  // xb = rmsnorm(x) * rms_att[l]                                            xb [T][dim]
  RmsNormRows(s->xb.data(), s->x.data(), w.rms_att + int64_t{l} * dim, rows, dim, p.norm_eps);
  // q = xb Wq^T, k = xb Wk^T, v = xb Wv^T                      q [T][dim], k, v [T][kv_dim]
  Matmul(s->q.data(), s->xb.data(), w.wq + int64_t{l} * dim * dim, rows, dim, dim, pool);
  Matmul(s->k.data(), s->xb.data(), w.wk + int64_t{l} * kv_dim * dim, rows, dim, kv_dim, pool);
  Matmul(s->v.data(), s->xb.data(), w.wv + int64_t{l} * kv_dim * dim, rows, dim, kv_dim, pool);
  // RoPE: rotate every head of q and k by the row's position.
  for (int r = 0; r < rows; ++r) {
    const float* cs = &s->rope[int64_t{r} * head_dim];
    ApplyRope(&s->q[int64_t{r} * dim], dim, head_dim, cs);
    ApplyRope(&s->k[int64_t{r} * kv_dim], kv_dim, head_dim, cs);
  }

  // The layer's blocks may still be arriving (offloaded layer): wait before touching them.
  const Clock::time_point wait_start = Clock::now();
  if (gate != nullptr) gate->WaitForLayer(l);
  const Seconds waited = Clock::now() - wait_start;

  // Append each row's k and v: slot pos % 16 of block pos / 16 of the layer's table.
  for (int r = 0; r < rows; ++r) {
    const KvBlockTable table = batch[s->row_entry[r]].layer_blocks[l];
    const int pos = s->row_pos[r];
    std::memcpy(KeyAt(table, pos, kv_dim), &s->k[int64_t{r} * kv_dim], sizeof(float) * kv_dim);
    std::memcpy(ValueAt(table, pos, kv_dim), &s->v[int64_t{r} * kv_dim], sizeof(float) * kv_dim);
  }
  // Multi-head attention; a row at position pos sees tokens [0, pos] of its own sequence
  // (causal within a prefill chunk). One task per (row, group of heads): whole rows read the
  // blocks in long runs; a few groups per row keep every thread busy for small batches. A
  // head's result does not depend on its group.                                xb [T][dim]
  const AttentionShape shape{.n_heads = n_heads, .n_kv_heads = p.n_kv_heads, .head_dim = head_dim};
  const int groups = std::clamp(kAttentionTasksPerThread * pool->num_threads() / std::max(rows, 1),
                                 1, n_heads);
  const int64_t att_per_worker = int64_t{n_heads} * p.max_seq_len;
  pool->ParallelForWorker(int64_t{rows} * groups, [&](int worker, int64_t begin, int64_t end) {
    float* att = &s->att[worker * att_per_worker];
    for (int64_t task = begin; task < end; ++task) {
      const int r = static_cast<int>(task / groups), g = static_cast<int>(task % groups);
      PagedAttention(&s->xb[int64_t{r} * dim], &s->q[int64_t{r} * dim],
                     batch[s->row_entry[r]].layer_blocks[l], s->row_pos[r] + 1, shape,
                     g * n_heads / groups, (g + 1) * n_heads / groups, att);
    }
  });
  if (gate != nullptr) gate->LayerDone(l);

  // x += xb Wo^T                                                           xb2 [T][dim]
  Matmul(s->xb2.data(), s->xb.data(), w.wo + int64_t{l} * dim * dim, rows, dim, dim, pool);
  AddInPlace(s->x.data(), s->xb2.data(), int64_t{rows} * dim);
  return waited;
}

// One layer's feed-forward block: x += W2 (silu(W1 xb) * W3 xb), xb = rmsnorm(x).
void FeedForwardBlock(const Model& model, int l, int rows, RunState* s, ThreadPool* pool) {
  const ModelSpec& p = model.spec;
  const TransformerWeights& w = model.weights;
  const int dim = p.dim, hidden = p.hidden_dim;
  const int64_t w_size = int64_t{hidden} * dim;

  // xb = rmsnorm(x) * rms_ffn[l]                                            xb [T][dim]
  RmsNormRows(s->xb.data(), s->x.data(), w.rms_ffn + int64_t{l} * dim, rows, dim, p.norm_eps);
  // hb = xb W1^T (gate), hb2 = xb W3^T (up)                           hb, hb2 [T][hidden]
  Matmul(s->hb.data(), s->xb.data(), w.w1 + l * w_size, rows, dim, hidden, pool);
  Matmul(s->hb2.data(), s->xb.data(), w.w3 + l * w_size, rows, dim, hidden, pool);
  // hb = silu(hb) * hb2 (an exp per element: worth spreading over the threads)
  pool->ParallelFor(rows, [&](int64_t begin, int64_t end) {
    SwiGlu(&s->hb[begin * hidden], &s->hb2[begin * hidden],
           static_cast<int>((end - begin) * hidden));
  });
  // x += hb W2^T                                                           xb2 [T][dim]
  Matmul(s->xb2.data(), s->hb.data(), w.w2 + l * w_size, rows, hidden, dim, pool);
  AddInPlace(s->x.data(), s->xb2.data(), int64_t{rows} * dim);
}

// Final norm and classifier on the rows that want logits.           logits [n_logits][vocab]
void Classifier(const Model& model, int n_logits, RunState* s, ThreadPool* pool) {
  const ModelSpec& p = model.spec;
  const TransformerWeights& w = model.weights;
  const int dim = p.dim;
  for (int i = 0; i < n_logits; ++i) {
    RmsNorm(&s->x_final[int64_t{i} * dim], &s->x[int64_t{s->logit_row[i]} * dim], w.rms_final,
            dim, p.norm_eps);
  }
  const float* wcls = w.wcls != nullptr ? w.wcls : w.token_embedding;
  Matmul(s->logits.data(), s->x_final.data(), wcls, n_logits, dim, p.vocab_size, pool);
}

}  // namespace

StatusOr<RunState> RunState::Create(const ModelSpec& spec, const RunStateOptions& options) {
  OF_RETURN_IF_ERROR(spec.Validate());
  if (options.max_batch_tokens < 1 || options.max_logits < 1 || options.num_threads < 1) {
    return InvalidArgument(fmt::format(
        "run state: max_batch_tokens = {}, max_logits = {}, num_threads = {} must be >= 1",
        options.max_batch_tokens, options.max_logits, options.num_threads));
  }
  if (spec.head_dim() % 2 != 0) {
    return InvalidArgument(fmt::format("run state: head_dim {} of '{}' is odd; RoPE needs pairs",
                                       spec.head_dim(), spec.name));
  }
  RunState s;
  s.spec = spec;
  s.options = options;
  const int64_t t = options.max_batch_tokens, m = options.max_logits;
  s.x.resize(t * spec.dim);
  s.xb.resize(t * spec.dim);
  s.xb2.resize(t * spec.dim);
  s.q.resize(t * spec.dim);
  s.k.resize(t * spec.kv_dim());
  s.v.resize(t * spec.kv_dim());
  s.hb.resize(t * spec.hidden_dim);
  s.hb2.resize(t * spec.hidden_dim);
  s.rope.resize(t * spec.head_dim());
  s.att.resize(int64_t{options.num_threads} * spec.n_heads * spec.max_seq_len);
  s.x_final.resize(m * spec.dim);
  s.logits.resize(m * spec.vocab_size);
  s.row_entry.resize(t);
  s.row_pos.resize(t);
  s.logit_row.resize(m);
  s.layer_compute.resize(spec.n_layers);
  s.layer_wait.resize(spec.n_layers);
  return s;
}

StatusOr<ForwardOutput> Forward(const Model& model, std::span<const SequenceBatchEntry> batch,
                                RunState* s, ThreadPool* pool, LayerGate* gate) {
  const Clock::time_point start = Clock::now();
  OF_RETURN_IF_ERROR(CheckCall(model, batch, *s, *pool));
  const ModelSpec& p = model.spec;

  // Token embeddings and positions of every row.                              x [T][dim]
  const auto [rows, n_logits] = EmbedRows(model, batch, s);

  // The layers: attention then feed-forward, each with a residual connection.
  for (int l = 0; l < p.n_layers; ++l) {
    const Clock::time_point layer_start = Clock::now();
    const Seconds waited = AttentionBlock(model, l, batch, rows, s, pool, gate);
    FeedForwardBlock(model, l, rows, s, pool);
    s->layer_wait[l] = waited;
    s->layer_compute[l] = Clock::now() - layer_start - waited;
  }

  // Logits of the last token of each entry that wants them.      logits [n_logits][vocab]
  Classifier(model, n_logits, s, pool);

  ForwardOutput out;
  out.n_logits = n_logits;
  out.vocab_size = p.vocab_size;
  out.logits = std::span<const float>(s->logits.data(), int64_t{n_logits} * p.vocab_size);
  out.layer_compute = s->layer_compute;
  out.layer_wait = s->layer_wait;
  out.total = Clock::now() - start;
  return out;
}

}  // namespace orbitflow
