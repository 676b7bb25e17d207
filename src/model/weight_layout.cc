#include "model/weight_layout.h"

#include <fmt/format.h>

#include <cmath>

#include "model/binary_io.h"

namespace orbitflow {

namespace {

// The largest model we agree to size: 2^40 floats (4 TiB). Anything bigger is a corrupt header.
constexpr int64_t kMaxTotalFloats = int64_t{1} << 40;

}  // namespace

StatusOr<WeightCounts> CountWeights(const ModelSpec& spec) {
  OF_RETURN_IF_ERROR(spec.Validate());
  if (spec.head_dim() % 2 != 0) {
    return InvalidArgument(fmt::format("model '{}': head_dim = dim / n_heads = {} must be even for RoPE",
                                       spec.name, spec.head_dim()));
  }
  const int64_t d = spec.dim, h = spec.hidden_dim, kv = spec.kv_dim(), v = spec.vocab_size, l = spec.n_layers;
  WeightCounts c;
  bool ok = CheckedMul(v, d, &c.token_embedding);
  int64_t dd = 0, kvd = 0, hd = 0;
  ok = ok && CheckedMul(d, d, &dd) && CheckedMul(kv, d, &kvd) && CheckedMul(h, d, &hd);
  ok = ok && CheckedMul(l, d, &c.rms_att) && CheckedMul(l, dd, &c.wq) && CheckedMul(l, kvd, &c.wk) &&
       CheckedMul(l, hd, &c.w1);
  if (!ok) {
    return InvalidArgument(
        fmt::format("model '{}': shape dim={} hidden_dim={} n_layers={} vocab_size={} "
                    "is too large to index",
                    spec.name, d, h, l, v));
  }
  c.wv = c.wk;
  c.wo = c.wq;
  c.rms_ffn = c.rms_att;
  c.w2 = c.w3 = c.w1;
  c.rms_final = d;
  c.wcls = spec.shared_classifier ? 0 : c.token_embedding;
  int64_t total = 0;
  for (int64_t part : {c.token_embedding, c.rms_att, c.wq, c.wk, c.wv, c.wo, c.rms_ffn, c.w1, c.w2, c.w3,
                       c.rms_final, c.wcls}) {
    if (!CheckedAdd(total, part, &total)) total = kMaxTotalFloats + 1;
  }
  if (total > kMaxTotalFloats) {
    return InvalidArgument(
        fmt::format("model '{}': {} weights is beyond the supported 2^40", spec.name, total));
  }
  c.total = total;
  return c;
}

void BindContiguous(const ModelSpec& spec, const WeightCounts& c, const float* base, TransformerWeights* w) {
  const float* p = base;
  auto take = [&p](int64_t n) {
    const float* view = p;
    p += n;
    return view;
  };
  w->token_embedding = take(c.token_embedding);
  w->rms_att = take(c.rms_att);
  w->wq = take(c.wq);
  w->wk = take(c.wk);
  w->wv = take(c.wv);
  w->wo = take(c.wo);
  w->rms_ffn = take(c.rms_ffn);
  w->w1 = take(c.w1);
  w->w2 = take(c.w2);
  w->w3 = take(c.w3);
  w->rms_final = take(c.rms_final);
  w->wcls = spec.shared_classifier ? w->token_embedding : take(c.wcls);
}

StatusOr<TransformerWeights> AllocateWeights(const ModelSpec& spec) {
  OF_ASSIGN_OR_RETURN(WeightCounts counts, CountWeights(spec));
  TransformerWeights w;
  w.storage.assign(static_cast<size_t>(counts.total), 0.0f);
  BindContiguous(spec, counts, w.storage.data(), &w);
  return w;
}

namespace {

// The tensor list; data pointers only when `w` is given (no arithmetic on null views).
std::vector<NamedTensor> Tensors(const ModelSpec& spec, const TransformerWeights* w) {
  const int64_t d = spec.dim, h = spec.hidden_dim, kv = spec.kv_dim(), v = spec.vocab_size;
  auto at = [w](const float* TransformerWeights::*view, int64_t offset) -> const float* {
    return w != nullptr ? w->*view + offset : nullptr;
  };
  using W = TransformerWeights;
  std::vector<NamedTensor> out;
  out.reserve(3 + 9 * static_cast<size_t>(spec.n_layers));
  out.push_back({"token_embd.weight", at(&W::token_embedding, 0), v, d});
  out.push_back({"output_norm.weight", at(&W::rms_final, 0), 1, d});
  if (!spec.shared_classifier) out.push_back({"output.weight", at(&W::wcls, 0), v, d});
  for (int64_t l = 0; l < spec.n_layers; ++l) {
    auto name = [l](const char* what) { return fmt::format("blk.{}.{}.weight", l, what); };
    out.push_back({name("attn_norm"), at(&W::rms_att, l * d), 1, d});
    out.push_back({name("attn_q"), at(&W::wq, l * d * d), d, d});
    out.push_back({name("attn_k"), at(&W::wk, l * kv * d), kv, d});
    out.push_back({name("attn_v"), at(&W::wv, l * kv * d), kv, d});
    out.push_back({name("attn_output"), at(&W::wo, l * d * d), d, d});
    out.push_back({name("ffn_norm"), at(&W::rms_ffn, l * d), 1, d});
    out.push_back({name("ffn_gate"), at(&W::w1, l * h * d), h, d});
    out.push_back({name("ffn_down"), at(&W::w2, l * d * h), d, h});
    out.push_back({name("ffn_up"), at(&W::w3, l * h * d), h, d});
  }
  return out;
}

}  // namespace

std::vector<NamedTensor> ListTensors(const ModelSpec& spec, const TransformerWeights& w) {
  return Tensors(spec, &w);
}

std::vector<NamedTensor> ListTensorShapes(const ModelSpec& spec) {
  return Tensors(spec, nullptr);
}

Status CheckFinite(const ModelSpec& spec, const TransformerWeights& w, std::string_view source) {
  for (const NamedTensor& t : ListTensors(spec, w)) {
    // A branch-free pass first (it vectorises); only a bad tensor pays for finding the element.
    bool all_finite = true;
    for (int64_t i = 0; i < t.size(); ++i) all_finite &= std::isfinite(t.data[i]);
    if (all_finite) continue;
    int64_t i = 0;
    while (std::isfinite(t.data[i])) ++i;
    return DataLoss(
        fmt::format("{}: tensor {} holds {} at element {} (row {}, column {}); the file is "
                    "corrupt",
                    source, t.name, t.data[i], i, i / t.cols, i % t.cols));
  }
  return Status::Ok();
}

}  // namespace orbitflow
