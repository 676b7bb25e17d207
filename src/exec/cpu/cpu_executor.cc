// CpuExecutor::Execute and its helpers (cpu_executor.h describes one step).
#include "exec/cpu/cpu_executor.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "exec/cpu/copy_engine.h"

namespace orbitflow {
namespace {

Seconds Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
}

// One sequence of a forward call, before its block tables exist.
struct CallItem {
  RequestId id;
  std::span<const int32_t> tokens;
  int start = 0;
  bool want_logits = true;
};

// The block tables of one forward call: what the pass reads and writes (`tables`) and the host
// mirror blocks of the same positions (`host_tables`), one per entry and layer, entry-major.
struct TableSet {
  std::vector<float*> ptrs, host_ptrs;
  std::vector<KvBlockTable> tables, host_tables;
  std::vector<SequenceBatchEntry> entries;
  std::vector<int> ahead;  // [entry] layers ahead its offloaded layers are prefetched
  void Clear() {
    ptrs.clear();
    host_ptrs.clear();
    tables.clear();
    host_tables.clear();
    entries.clear();
    ahead.clear();
  }
};

// Synchronises one forward call with the copy engine and writes the host mirror.
class StepGate final : public LayerGate {
 public:
  StepGate(CopyEngine* copy, bool decode, const TableSet* set, int n_layers, int kv_dim)
      : copy_(copy), decode_(decode), set_(set), n_layers_(n_layers), kv_dim_(kv_dim) {}

  void WaitForLayer(int layer) override { copy_->WaitLayer(layer, /*include_prefetch=*/decode_); }

  // Write-through: the tokens this call appended go to the host mirror now, while the layer's
  // blocks (perhaps a prefetch slot about to be reused) still hold them.
  void LayerDone(int layer) override {
    const size_t row_bytes = sizeof(float) * kv_dim_;
    for (size_t e = 0; e < set_->entries.size(); ++e) {
      const SequenceBatchEntry& entry = set_->entries[e];
      const KvBlockTable used = set_->tables[e * n_layers_ + layer];
      const KvBlockTable host = set_->host_tables[e * n_layers_ + layer];
      const int end = entry.start_pos + static_cast<int>(entry.tokens.size());
      for (int t = entry.start_pos; t < end; ++t) {
        if (used[t / kBlockTokens] == host[t / kBlockTokens]) continue;
        std::memcpy(KeyAt(host, t, kv_dim_), KeyAt(used, t, kv_dim_), row_bytes);
        std::memcpy(ValueAt(host, t, kv_dim_), ValueAt(used, t, kv_dim_), row_bytes);
        d2h_ += Bytes(static_cast<int64_t>(2 * row_bytes));
      }
    }
    if (decode_) copy_->SetProgress(layer + 1);
  }

  Bytes d2h() const { return d2h_; }

 private:
  CopyEngine* copy_;
  bool decode_;
  const TableSet* set_;
  int n_layers_;
  int kv_dim_;
  Bytes d2h_;
};

}  // namespace

struct CpuExecutor::Impl {
  const Model* model;
  CpuExecutorOptions options;
  KvArena device;
  KvArena host;
  std::unique_ptr<KvArena> prefetch;  // kPrefetchSlots x slot_blocks, grown on demand
  int64_t slot_blocks = 0;
  RunState state;
  ThreadPool pool;
  CopyEngine copy;
  std::unordered_map<RequestId, Sampler> samplers;
  TableSet prefill_set, decode_set;
  std::vector<CallItem> items;
  std::vector<CopySpan> spans;

  Impl(const Model* m, const CpuExecutorOptions& o, KvArena d, KvArena h, RunState s, int threads)
      : model(m), options(o), device(std::move(d)), host(std::move(h)), state(std::move(s)),
        pool(threads), copy(CopyEngineOptions{.link_gbps = o.link_gbps}) {}

  int n_layers() const { return model->spec.n_layers; }
  int kv_dim() const { return model->spec.kv_dim(); }

  Sampler& SamplerFor(RequestId id) {
    auto it = samplers.find(id);
    if (it == samplers.end()) it = samplers.emplace(id, Sampler(SamplerOptions{})).first;
    return it->second;
  }

  StatusOr<float*> BlockPtr(const KvArena& arena, BlockId id, const char* tier) const {
    if (id.value() < 0 || id.value() >= arena.num_blocks()) {
      return ResourceExhausted(fmt::format(
          "{} block {} is outside the {}-block {} arena; give the KV cache manager the same "
          "capacity as CpuExecutorOptions::{}_blocks", tier, id.value(), arena.num_blocks(), tier,
          tier));
    }
    return arena.block(id);
  }

  Status AddMoves(const StepPlan& plan, const KvCacheManager& kv);
  Status BuildTables(const KvCacheManager& kv, TableSet* set);
  Status EnsurePrefetchRegion(int64_t slot_blocks_needed);
  Status AddPrefetches(const StepPlan& plan, const KvCacheManager& kv);
  Status RunPrefills(const StepPlan& plan, const KvCacheManager& kv, StepResult* out, Bytes* d2h);
  Status RunDecodes(const StepPlan& plan, const KvCacheManager& kv, StepResult* out, Bytes* d2h);
};

Status CpuExecutorOptions::Validate() const {
  auto bad = [](std::string what) { return InvalidArgument("CpuExecutorOptions: " + what); };
  if (num_threads < 0) return bad(fmt::format("num_threads {} must be >= 0", num_threads));
  if (!(link_gbps >= 0)) return bad(fmt::format("link_gbps {} must be >= 0", link_gbps));
  if (device_blocks < 1) return bad(fmt::format("device_blocks {} must be >= 1", device_blocks));
  if (host_blocks < 1) return bad(fmt::format("host_blocks {} must be >= 1", host_blocks));
  if (max_batch < 1) return bad(fmt::format("max_batch {} must be >= 1", max_batch));
  if (max_batch_tokens < max_batch) {
    return bad(fmt::format("max_batch_tokens {} must be >= max_batch {}", max_batch_tokens, max_batch));
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<CpuExecutor>> CpuExecutor::Create(const Model* model,
                                                           const CpuExecutorOptions& options) {
  if (model == nullptr) return InvalidArgument("CpuExecutor: model is null");
  OF_RETURN_IF_ERROR(options.Validate());
  const int kv_dim = model->spec.kv_dim();
  OF_ASSIGN_OR_RETURN(KvArena device, KvArena::Create(options.device_blocks, kv_dim));
  OF_ASSIGN_OR_RETURN(KvArena host, KvArena::Create(options.host_blocks, kv_dim));
  // Zeroed once so a block's unwritten tail slots (copied whole, never read as K/V) hold
  // ordinary numbers rather than whatever the allocator left there.
  std::memset(device.block(BlockId(0)), 0, device.bytes().count());
  std::memset(host.block(BlockId(0)), 0, host.bytes().count());
  const int threads = options.num_threads > 0
                          ? options.num_threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  RunStateOptions rs{.max_batch_tokens = options.max_batch_tokens,
                     .max_logits = std::max(options.max_batch, 64),
                     .num_threads = threads};
  OF_ASSIGN_OR_RETURN(RunState state, RunState::Create(model->spec, rs));
  auto impl = std::make_unique<Impl>(model, options, std::move(device), std::move(host),
                                     std::move(state), threads);
  auto exec = std::unique_ptr<CpuExecutor>(new CpuExecutor(std::move(impl)));
  return exec;
}

CpuExecutor::CpuExecutor(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)), model_(impl_->model), options_(impl_->options) {}

CpuExecutor::~CpuExecutor() = default;

void CpuExecutor::Release(RequestId id) { impl_->samplers.erase(id); }

Status CpuExecutor::SetSampling(RequestId id, const SamplerOptions& options) {
  OF_RETURN_IF_ERROR(options.Validate());
  impl_->samplers.insert_or_assign(id, Sampler(options));
  return Status::Ok();
}

// Layers brought back after a plan change: every host block of the layer to its new device block.
Status CpuExecutor::Impl::AddMoves(const StepPlan& plan, const KvCacheManager& kv) {
  for (const KvMove& m : plan.moves) {
    if (!kv.Has(m.id)) continue;  // released since the move was planned
    const RequestKv& r = kv.Get(m.id);
    for (int l : m.diff.bring_back) {
      const LayerBlocks& lb = r.layers[l];
      spans.clear();
      for (size_t b = 0; b < lb.device.size() && b < lb.host.size(); ++b) {
        OF_ASSIGN_OR_RETURN(float* src, BlockPtr(host, lb.host[b], "host"));
        OF_ASSIGN_OR_RETURN(float* dst, BlockPtr(device, lb.device[b], "device"));
        spans.push_back({src, dst, device.block_floats()});
      }
      if (!spans.empty()) copy.AddJob(CopyKind::kMove, l, /*start_after=*/0, spans);
    }
  }
  return Status::Ok();
}

// Fills `set` from `items`: resident layers point at device blocks, offloaded ones at the host
// (prefill) or, for decode, at the host for now (AddPrefetches redirects them to a slot).
Status CpuExecutor::Impl::BuildTables(const KvCacheManager& kv, TableSet* set) {
  set->Clear();
  const int L = n_layers();
  size_t total = 0;
  for (const CallItem& it : items) {
    if (!kv.Has(it.id)) {
      return InvalidArgument(fmt::format("request {} has no KV blocks", it.id.value()));
    }
    total += static_cast<size_t>(L) * BlocksForTokens(it.start + it.tokens.size());
  }
  set->ptrs.resize(total);
  set->host_ptrs.resize(total);
  size_t at = 0;
  for (const CallItem& it : items) {
    const RequestKv& r = kv.Get(it.id);
    const int64_t blocks = BlocksForTokens(it.start + it.tokens.size());
    if (r.layers.size() != static_cast<size_t>(L)) {
      return InvalidArgument(fmt::format("request {} has {} layers of KV, the model {}",
                                                 it.id.value(), r.layers.size(), L));
    }
    for (int l = 0; l < L; ++l) {
      const LayerBlocks& lb = r.layers[l];
      const bool resident = r.mask.on_device(l);
      if (static_cast<int64_t>(lb.host.size()) < blocks ||
          (resident && static_cast<int64_t>(lb.device.size()) < blocks)) {
        return InvalidArgument(fmt::format(
            "request {} layer {} holds too few blocks for {} tokens", it.id.value(), l,
            it.start + it.tokens.size()));
      }
      const KvBlockTable used(set->ptrs.data() + at, blocks);
      const KvBlockTable mirror(set->host_ptrs.data() + at, blocks);
      for (int64_t b = 0; b < blocks; ++b) {
        OF_ASSIGN_OR_RETURN(set->host_ptrs[at + b], BlockPtr(host, lb.host[b], "host"));
        set->ptrs[at + b] = set->host_ptrs[at + b];
        if (resident) {
          OF_ASSIGN_OR_RETURN(set->ptrs[at + b], BlockPtr(device, lb.device[b], "device"));
        }
      }
      set->tables.push_back(used);
      set->host_tables.push_back(mirror);
      at += blocks;
    }
  }
  for (size_t e = 0; e < items.size(); ++e) {
    const CallItem& it = items[e];
    set->entries.push_back({.tokens = it.tokens, .start_pos = it.start,
                            .layer_blocks = std::span<const KvBlockTable>(set->tables).subspan(e * L, L),
                            .want_logits = it.want_logits});
  }
  return Status::Ok();
}

Status CpuExecutor::Impl::EnsurePrefetchRegion(int64_t needed) {
  if (needed <= slot_blocks) return Status::Ok();
  int64_t grown = std::max<int64_t>(needed, slot_blocks * 2);
  OF_ASSIGN_OR_RETURN(KvArena arena, KvArena::Create(grown * kPrefetchSlots, kv_dim()));
  std::memset(arena.block(BlockId(0)), 0, arena.bytes().count());
  prefetch = std::make_unique<KvArena>(std::move(arena));
  slot_blocks = grown;
  return Status::Ok();
}

// Redirects the decode batch's offloaded layers to prefetch slots and queues their copies. The
// k-th layer with any offloaded request uses slot k % kPrefetchSlots; its copy is released when
// the pass has finished layer l - ahead (ahead = the smallest PrefetchAhead() among the
// requests offloading it) and the slot's previous layer, so it never overwrites a slot in use.
Status CpuExecutor::Impl::AddPrefetches(const StepPlan& plan, const KvCacheManager& kv) {
  const int L = n_layers();
  TableSet& set = decode_set;
  std::vector<int64_t> layer_blocks(L, 0);
  std::vector<int> layer_ahead(L, L);
  for (size_t e = 0; e < set.entries.size(); ++e) {
    const RequestKv& r = kv.Get(plan.decodes[e].id);
    const Distance d = plan.decodes[e].distance;
    const int ahead = d.all_device() ? 1 : d.PrefetchAhead();
    for (int l = 0; l < L; ++l) {
      if (r.mask.on_device(l)) continue;
      layer_blocks[l] += static_cast<int64_t>(set.tables[e * L + l].size());
      layer_ahead[l] = std::min(layer_ahead[l], ahead);
    }
  }
  OF_RETURN_IF_ERROR(EnsurePrefetchRegion(*std::max_element(layer_blocks.begin(), layer_blocks.end())));
  int k = 0;
  std::vector<int> slot_layer(kPrefetchSlots, -1);  // last layer that used each slot
  for (int l = 0; l < L; ++l) {
    if (layer_blocks[l] == 0) continue;
    const int slot = k++ % kPrefetchSlots;
    int64_t next = int64_t{slot} * slot_blocks;
    spans.clear();
    for (size_t e = 0; e < set.entries.size(); ++e) {
      if (kv.Get(plan.decodes[e].id).mask.on_device(l)) continue;
      const size_t at = set.tables[e * L + l].data() - set.ptrs.data();
      for (size_t b = 0; b < set.tables[e * L + l].size(); ++b) {
        float* dst = prefetch->block(BlockId(static_cast<int32_t>(next++)));
        spans.push_back({set.host_ptrs[at + b], dst, prefetch->block_floats()});
        set.ptrs[at + b] = dst;
      }
    }
    const int start_after = std::max({0, l - layer_ahead[l], slot_layer[slot] + 1});
    copy.AddJob(CopyKind::kPrefetch, l, start_after, spans);
    slot_layer[slot] = l;
  }
  return Status::Ok();
}

// Prefill chunks, split into pieces of at most max_batch_tokens and packed into forward calls
// (one piece per request per call, since pieces of a prompt must run in order).
Status CpuExecutor::Impl::RunPrefills(const StepPlan& plan, const KvCacheManager& kv,
                                      StepResult* out, Bytes* d2h) {
  const int max_rows = options.max_batch_tokens;
  const int max_entries = state.options.max_logits;
  struct Piece { const PrefillWork* work; int64_t begin, end; };
  std::vector<Piece> pieces;
  for (const PrefillWork& p : plan.prefills) {
    if (static_cast<int64_t>(p.tokens.size()) != p.end - p.begin || p.end <= p.begin) {
      return InvalidArgument(fmt::format("prefill of request {} [{}, {}) carries {} token ids; "
                                         "the CPU executor needs the prompt's ids",
                                         p.id.value(), p.begin, p.end, p.tokens.size()));
    }
    for (int64_t b = p.begin; b < p.end; b += max_rows) pieces.push_back({&p, b, std::min(p.end, b + max_rows)});
  }
  size_t i = 0;
  while (i < pieces.size()) {
    items.clear();
    int rows = 0;
    size_t j = i;
    for (; j < pieces.size(); ++j) {
      const Piece& pc = pieces[j];
      const int n = static_cast<int>(pc.end - pc.begin);
      const bool same = std::any_of(items.begin(), items.end(), [&](const CallItem& c) { return c.id == pc.work->id; });
      if (same || rows + n > max_rows || static_cast<int>(items.size()) >= max_entries) break;
      items.push_back({pc.work->id, pc.work->tokens.subspan(pc.begin - pc.work->begin, n),
                       static_cast<int>(pc.begin), pc.work->last_chunk && pc.end == pc.work->end});
      rows += n;
    }
    OF_RETURN_IF_ERROR(BuildTables(kv, &prefill_set));
    StepGate gate(&copy, /*decode=*/false, &prefill_set, n_layers(), kv_dim());
    OF_ASSIGN_OR_RETURN(ForwardOutput fo, Forward(*model, prefill_set.entries, &state, &pool, &gate));
    out->prefill += fo.total;
    for (Seconds w : fo.layer_wait) out->stall += w;
    *d2h += gate.d2h();
    int logit = 0;
    for (const CallItem& it : items) {
      if (!it.want_logits) continue;
      out->tokens.push_back({it.id, SamplerFor(it.id).Sample(fo.row(logit++))});
    }
    i = j;
  }
  return Status::Ok();
}

// The decode batch, one forward call with the prefetch gate.
Status CpuExecutor::Impl::RunDecodes(const StepPlan& plan, const KvCacheManager& kv,
                                     StepResult* out, Bytes* d2h) {
  StepGate gate(&copy, /*decode=*/true, &decode_set, n_layers(), kv_dim());
  OF_ASSIGN_OR_RETURN(ForwardOutput fo, Forward(*model, decode_set.entries, &state, &pool, &gate));
  out->layer_compute.assign(fo.layer_compute.begin(), fo.layer_compute.end());
  for (Seconds c : fo.layer_compute) out->compute += c;
  for (Seconds w : fo.layer_wait) out->stall += w;
  *d2h += gate.d2h();
  for (int i = 0; i < fo.n_logits; ++i) {
    const RequestId id = plan.decodes[i].id;
    out->tokens.push_back({id, SamplerFor(id).Sample(fo.row(i))});
  }
  return Status::Ok();
}

StatusOr<StepResult> CpuExecutor::Execute(const StepPlan& plan, const KvCacheManager& kv) {
  Impl& m = *impl_;
  const auto start = std::chrono::steady_clock::now();
  if (kv.device_pool().capacity() != options_.device_blocks) {
    return InvalidArgument(fmt::format(
        "KV cache manager has {} device blocks but CpuExecutorOptions::device_blocks is {}",
        kv.device_pool().capacity(), options_.device_blocks));
  }
  if (static_cast<int>(plan.decodes.size()) > options_.max_batch) {
    return InvalidArgument(fmt::format("{} decodes exceed CpuExecutorOptions::max_batch {}",
                                       plan.decodes.size(), options_.max_batch));
  }
  StepResult out;
  Bytes d2h;
  m.copy.Begin(model_->spec.n_layers);
  // The copy engine may hold pointers into the tables until Finish, on every path out.
  Status status = [&]() -> Status {
    OF_RETURN_IF_ERROR(m.AddMoves(plan, kv));
    m.items.clear();
    for (const DecodeWork& d : plan.decodes) {
      m.items.push_back({d.id, std::span<const int32_t>(&d.input_token, 1),
                         static_cast<int>(d.context_tokens), true});
    }
    OF_RETURN_IF_ERROR(m.BuildTables(kv, &m.decode_set));
    OF_RETURN_IF_ERROR(m.AddPrefetches(plan, kv));
    m.copy.Start();
    if (!plan.prefills.empty()) OF_RETURN_IF_ERROR(m.RunPrefills(plan, kv, &out, &d2h));
    if (!plan.decodes.empty()) OF_RETURN_IF_ERROR(m.RunDecodes(plan, kv, &out, &d2h));
    return Status::Ok();
  }();
  const CopyEngine::Totals totals = m.copy.Finish();
  OF_RETURN_IF_ERROR(status);
  out.h2d = totals.moved;
  out.moves = totals.move_time;
  out.link_busy = totals.busy;
  out.d2h = d2h;
  out.step_time = Since(start);
  out.overhead = std::max(Seconds(0), out.step_time - out.compute - out.stall - out.prefill - out.moves);
  return out;
}

}  // namespace orbitflow
