#include "model/llama2c.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "model/mapped_file.h"
#include "model/quant.h"
#include "model/weight_layout.h"

namespace orbitflow {

namespace {

constexpr size_t kLegacyHeaderBytes = 7 * sizeof(int32_t);
constexpr size_t kVersionedHeaderBytes = 256;

struct Header {
  Llama2cVersion version = Llama2cVersion::kLegacy;
  int32_t dim = 0, hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab_size = 0, seq_len = 0;
  bool shared_classifier = true;
  int32_t group_size = 0;  // version 2 only
  size_t bytes = 0;        // header size; tensors start here
};

// The tensors of a checkpoint in file order. kRopeTables is the legacy format's dead weight.
enum class Part {
  kEmbedding,
  kRmsAtt,
  kWq,
  kWk,
  kWv,
  kWo,
  kRmsFfn,
  kW1,
  kW2,
  kW3,
  kRmsFinal,
  kWcls,
  kRopeTables
};
struct Segment {
  Part part;
  int64_t count;  // floats
};

const float** Slot(TransformerWeights* w, Part p) {
  switch (p) {
    case Part::kEmbedding: return &w->token_embedding;
    case Part::kRmsAtt: return &w->rms_att;
    case Part::kWq: return &w->wq;
    case Part::kWk: return &w->wk;
    case Part::kWv: return &w->wv;
    case Part::kWo: return &w->wo;
    case Part::kRmsFfn: return &w->rms_ffn;
    case Part::kW1: return &w->w1;
    case Part::kW2: return &w->w2;
    case Part::kW3: return &w->w3;
    case Part::kRmsFinal: return &w->rms_final;
    case Part::kWcls: return &w->wcls;
    case Part::kRopeTables: return nullptr;
  }
  return nullptr;
}

// fp32 tensors in file order for the legacy and version-1 layouts.
std::vector<Segment> Fp32Layout(Llama2cVersion v, const ModelSpec& s, const WeightCounts& c) {
  std::vector<Segment> out;
  if (v == Llama2cVersion::kLegacy) {
    out = {{Part::kEmbedding, c.token_embedding},
           {Part::kRmsAtt, c.rms_att},
           {Part::kWq, c.wq},
           {Part::kWk, c.wk},
           {Part::kWv, c.wv},
           {Part::kWo, c.wo},
           {Part::kRmsFfn, c.rms_ffn},
           {Part::kW1, c.w1},
           {Part::kW2, c.w2},
           {Part::kW3, c.w3},
           {Part::kRmsFinal, c.rms_final},
           {Part::kRopeTables, int64_t{s.max_seq_len} * s.head_dim()}};
  } else {
    out = {{Part::kRmsAtt, c.rms_att},
           {Part::kRmsFfn, c.rms_ffn},
           {Part::kRmsFinal, c.rms_final},
           {Part::kEmbedding, c.token_embedding},
           {Part::kWq, c.wq},
           {Part::kWk, c.wk},
           {Part::kWv, c.wv},
           {Part::kWo, c.wo},
           {Part::kW1, c.w1},
           {Part::kW2, c.w2},
           {Part::kW3, c.w3}};
  }
  if (!s.shared_classifier) out.push_back({Part::kWcls, c.wcls});
  return out;
}

// Version 2: the norms in fp32, then these matrices quantized, each split into per-layer
// tensors (the embedding and classifier are one tensor each).
std::vector<Segment> Int8Layout(const ModelSpec& s, const WeightCounts& c) {
  std::vector<Segment> out = {{Part::kEmbedding, c.token_embedding},
                              {Part::kWq, c.wq},
                              {Part::kWk, c.wk},
                              {Part::kWv, c.wv},
                              {Part::kWo, c.wo},
                              {Part::kW1, c.w1},
                              {Part::kW2, c.w2},
                              {Part::kW3, c.w3}};
  if (!s.shared_classifier) out.push_back({Part::kWcls, c.wcls});
  return out;
}
int64_t TensorsIn(Part p, const ModelSpec& s) {
  return p == Part::kEmbedding || p == Part::kWcls ? 1 : s.n_layers;
}

StatusOr<Header> ReadHeader(ByteReader& r) {
  Header h;
  uint32_t magic = 0;
  if (r.size() >= sizeof(magic)) OF_RETURN_IF_ERROR(r.ReadPod(&magic, "magic"));
  if (magic == kLlama2cMagic) {
    int32_t version = 0;
    OF_RETURN_IF_ERROR(r.ReadPod(&version, "header version"));
    if (version != 1 && version != 2) {
      return Unimplemented(
          fmt::format("{}: llama2.c checkpoint version {} is not supported (1 = fp32, "
                      "2 = int8 groups)",
                      r.source(), version));
    }
    h.version = static_cast<Llama2cVersion>(version);
    h.bytes = kVersionedHeaderBytes;
  } else {
    OF_RETURN_IF_ERROR(r.Seek(0, "header"));
    h.bytes = kLegacyHeaderBytes;
  }
  for (int32_t* field :
       {&h.dim, &h.hidden_dim, &h.n_layers, &h.n_heads, &h.n_kv_heads, &h.vocab_size, &h.seq_len}) {
    OF_RETURN_IF_ERROR(r.ReadPod(field, "config header"));
  }
  if (h.version == Llama2cVersion::kLegacy) {
    // llama2.c's legacy convention: a negative vocab_size flags a separate classifier.
    h.shared_classifier = h.vocab_size > 0;
    if (h.vocab_size < 0 && h.vocab_size != INT32_MIN) h.vocab_size = -h.vocab_size;
    return h;
  }
  uint8_t shared = 0;
  OF_RETURN_IF_ERROR(r.ReadPod(&shared, "shared_classifier flag"));
  if (shared > 1) return r.Corrupt(fmt::format("shared_classifier flag is {}, not 0 or 1", shared));
  h.shared_classifier = shared == 1;
  if (h.version == Llama2cVersion::kV2Int8) OF_RETURN_IF_ERROR(r.ReadPod(&h.group_size, "group_size"));
  return h;
}

StatusOr<ModelSpec> SpecFromHeader(const Header& h, std::string_view source) {
  ModelSpec s;
  s.name = FileStem(source);
  s.dim = h.dim;
  s.hidden_dim = h.hidden_dim;
  s.n_layers = h.n_layers;
  s.n_heads = h.n_heads;
  s.n_kv_heads = h.n_kv_heads;
  s.vocab_size = h.vocab_size;
  s.max_seq_len = h.seq_len;
  s.shared_classifier = h.shared_classifier;
  s.kv_bytes_per_elem = 4;  // the CPU executor keeps its KV cache in fp32
  if (h.version == Llama2cVersion::kV2Int8 &&
      (h.group_size <= 0 || h.dim <= 0 || h.dim % h.group_size != 0)) {
    return InvalidArgument(fmt::format("{}: header: group_size = {} must be positive and divide dim = {}",
                                       source, h.group_size, h.dim));
  }
  return s;
}

// Total bytes the tensors after the header must take, or an error if that overflows.
StatusOr<int64_t> PayloadBytes(const Header& h, const ModelSpec& s, const WeightCounts& c,
                               std::string_view source) {
  int64_t floats = 0;
  if (h.version == Llama2cVersion::kV2Int8) {
    floats = c.rms_att + c.rms_ffn + c.rms_final;
    int64_t int8s = 0;
    for (const Segment& seg : Int8Layout(s, c)) int8s += seg.count;
    // One byte per value plus one fp32 scale per group.
    return 4 * floats + int8s + 4 * (int8s / h.group_size);
  }
  for (const Segment& seg : Fp32Layout(h.version, s, c)) {
    if (!CheckedAdd(floats, seg.count, &floats)) {
      return InvalidArgument(fmt::format("{}: header describes an impossibly large model", source));
    }
  }
  int64_t bytes = 0;
  if (!CheckedMul(floats, 4, &bytes)) {
    return InvalidArgument(fmt::format("{}: header describes an impossibly large model", source));
  }
  return bytes;
}

StatusOr<TransformerWeights> ReadFp32(std::span<const std::byte> bytes, const Header& h, const ModelSpec& s,
                                      const WeightCounts& c, std::shared_ptr<void> keepalive) {
  const std::byte* base = bytes.data() + h.bytes;
  const bool in_place = keepalive != nullptr && reinterpret_cast<uintptr_t>(base) % alignof(float) == 0;
  TransformerWeights w;
  if (!in_place) {
    OF_ASSIGN_OR_RETURN(w, AllocateWeights(s));
  }
  int64_t offset = 0;  // in floats
  for (const Segment& seg : Fp32Layout(h.version, s, c)) {
    const float** slot = Slot(&w, seg.part);
    if (slot != nullptr && in_place) {
      *slot = reinterpret_cast<const float*>(base) + offset;
    } else if (slot != nullptr) {
      float* dst = w.storage.data() + (*slot - w.storage.data());
      std::memcpy(dst, base + offset * 4, static_cast<size_t>(seg.count) * 4);
    }
    offset += seg.count;
  }
  if (s.shared_classifier) w.wcls = w.token_embedding;
  if (in_place) w.keepalive = std::move(keepalive);
  return w;
}

StatusOr<TransformerWeights> ReadInt8(ByteReader& r, const Header& h, const ModelSpec& s,
                                      const WeightCounts& c) {
  OF_ASSIGN_OR_RETURN(TransformerWeights w, AllocateWeights(s));
  auto mutable_view = [&w](const float* view) { return w.storage.data() + (view - w.storage.data()); };
  for (Part p : {Part::kRmsAtt, Part::kRmsFfn, Part::kRmsFinal}) {
    const int64_t n = p == Part::kRmsFinal ? c.rms_final : c.rms_att;
    OF_RETURN_IF_ERROR(r.Read(mutable_view(*Slot(&w, p)), static_cast<size_t>(n) * 4, "norm weights"));
  }
  std::vector<float> scales;
  for (const Segment& seg : Int8Layout(s, c)) {
    const int64_t tensors = TensorsIn(seg.part, s);
    const int64_t n = seg.count / tensors;
    for (int64_t t = 0; t < tensors; ++t) {
      OF_ASSIGN_OR_RETURN(std::span<const std::byte> q, r.Take(static_cast<size_t>(n), "int8 weights"));
      scales.resize(static_cast<size_t>(n / h.group_size));
      OF_RETURN_IF_ERROR(r.Read(scales.data(), scales.size() * 4, "group scales"));
      DequantizeGroupsInt8(reinterpret_cast<const int8_t*>(q.data()), scales.data(), n, h.group_size,
                           mutable_view(*Slot(&w, seg.part)) + t * n);
    }
  }
  if (s.shared_classifier) w.wcls = w.token_embedding;
  return w;
}

}  // namespace

StatusOr<Model> ParseLlama2c(std::span<const std::byte> bytes, std::shared_ptr<void> keepalive,
                             std::string_view source) {
  ByteReader r(bytes, source);
  OF_ASSIGN_OR_RETURN(Header h, ReadHeader(r));
  OF_ASSIGN_OR_RETURN(ModelSpec spec, SpecFromHeader(h, source));
  auto counts = CountWeights(spec);
  if (!counts.ok()) return counts.status().Annotate(fmt::format("{}: header", source));
  OF_ASSIGN_OR_RETURN(int64_t payload, PayloadBytes(h, spec, *counts, source));
  const int64_t expected = static_cast<int64_t>(h.bytes) + payload;
  const int64_t actual = static_cast<int64_t>(bytes.size());
  if (actual != expected) {
    return DataLoss(
        fmt::format("{}: a llama2.c v{} checkpoint with dim={} hidden_dim={} n_layers={} "
                    "n_heads={} n_kv_heads={} vocab_size={} seq_len={} takes {} bytes, but "
                    "the file has {} ({})",
                    source, static_cast<int>(h.version), h.dim, h.hidden_dim, h.n_layers, h.n_heads,
                    h.n_kv_heads, h.vocab_size, h.seq_len, expected, actual,
                    actual < expected ? "truncated" : "trailing bytes: wrong format?"));
  }
  Model m;
  m.spec = std::move(spec);
  OF_RETURN_IF_ERROR(r.Seek(h.bytes, "tensors"));
  if (h.version == Llama2cVersion::kV2Int8) {
    OF_ASSIGN_OR_RETURN(m.weights, ReadInt8(r, h, m.spec, *counts));
  } else {
    OF_ASSIGN_OR_RETURN(m.weights, ReadFp32(bytes, h, m.spec, *counts, std::move(keepalive)));
  }
  OF_RETURN_IF_ERROR(CheckFinite(m.spec, m.weights, source));
  return m;
}

StatusOr<Model> LoadLlama2c(const std::string& path) {
  OF_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::Open(path));
  const std::span<const std::byte> bytes = file->bytes();
  return ParseLlama2c(bytes, std::move(file), path);
}

namespace {

// llama2.c's precompute_freqs_cis in float32: cos then sin tables, [seq_len][head_dim / 2].
Status WriteRopeTables(const ModelSpec& s, ByteSink* sink) {
  const int half = s.head_dim() / 2;
  std::vector<float> freqs(static_cast<size_t>(half));
  for (int i = 0; i < half; ++i) {
    freqs[i] = 1.0f / std::pow(10000.0f, static_cast<float>(2 * i) / static_cast<float>(s.head_dim()));
  }
  for (int table = 0; table < 2; ++table) {
    std::vector<float> row(static_cast<size_t>(half));
    for (int t = 0; t < s.max_seq_len; ++t) {
      for (int i = 0; i < half; ++i) {
        const float angle = static_cast<float>(t) * freqs[i];
        row[i] = table == 0 ? std::cos(angle) : std::sin(angle);
      }
      OF_RETURN_IF_ERROR(sink->Write(row.data(), row.size() * 4));
    }
  }
  return Status::Ok();
}

// The views of `w` without its storage, so Slot() can address a const model's tensors.
TransformerWeights ViewsOf(const TransformerWeights& w) {
  TransformerWeights v;
  v.token_embedding = w.token_embedding;
  v.rms_att = w.rms_att;
  v.wq = w.wq, v.wk = w.wk, v.wv = w.wv, v.wo = w.wo;
  v.rms_ffn = w.rms_ffn;
  v.w1 = w.w1, v.w2 = w.w2, v.w3 = w.w3;
  v.rms_final = w.rms_final;
  v.wcls = w.wcls;
  return v;
}

Status WriteHeader(const ModelSpec& s, Llama2cVersion version, int32_t group_size, ByteSink* sink) {
  const int32_t vocab =
      version == Llama2cVersion::kLegacy && !s.shared_classifier ? -s.vocab_size : s.vocab_size;
  if (version != Llama2cVersion::kLegacy) {
    OF_RETURN_IF_ERROR(sink->WritePod(kLlama2cMagic));
    OF_RETURN_IF_ERROR(sink->WritePod(static_cast<int32_t>(version)));
  }
  for (int32_t v : {s.dim, s.hidden_dim, s.n_layers, s.n_heads, s.n_kv_heads, vocab, s.max_seq_len}) {
    OF_RETURN_IF_ERROR(sink->WritePod(v));
  }
  if (version == Llama2cVersion::kLegacy) return Status::Ok();
  OF_RETURN_IF_ERROR(sink->WritePod(static_cast<uint8_t>(s.shared_classifier ? 1 : 0)));
  if (version == Llama2cVersion::kV2Int8) OF_RETURN_IF_ERROR(sink->WritePod(group_size));
  return sink->PadTo(kVersionedHeaderBytes);
}

Status WriteInt8Tensors(const Model& m, const WeightCounts& c, int32_t group_size, ByteSink* sink) {
  TransformerWeights views = ViewsOf(m.weights);
  const ModelSpec& s = m.spec;
  OF_RETURN_IF_ERROR(sink->Write(views.rms_att, static_cast<size_t>(c.rms_att) * 4));
  OF_RETURN_IF_ERROR(sink->Write(views.rms_ffn, static_cast<size_t>(c.rms_ffn) * 4));
  OF_RETURN_IF_ERROR(sink->Write(views.rms_final, static_cast<size_t>(c.rms_final) * 4));
  std::vector<int8_t> q;
  std::vector<float> scales;
  for (const Segment& seg : Int8Layout(s, c)) {
    const int64_t tensors = TensorsIn(seg.part, s);
    const int64_t n = seg.count / tensors;
    q.resize(static_cast<size_t>(n));
    scales.resize(static_cast<size_t>(n / group_size));
    for (int64_t t = 0; t < tensors; ++t) {
      QuantizeGroupsInt8(*Slot(&views, seg.part) + t * n, n, group_size, q.data(), scales.data());
      OF_RETURN_IF_ERROR(sink->Write(q.data(), q.size()));
      OF_RETURN_IF_ERROR(sink->Write(scales.data(), scales.size() * 4));
    }
  }
  return Status::Ok();
}

}  // namespace

Status WriteLlama2c(const Model& m, Llama2cVersion version, ByteSink* sink) {
  OF_ASSIGN_OR_RETURN(WeightCounts c, CountWeights(m.spec));
  if (version == Llama2cVersion::kV2Int8) {
    // As llama2.c's export: the largest power-of-two group up to 64 that divides dim.
    int32_t group_size = 64;
    while (m.spec.dim % group_size != 0) group_size /= 2;
    OF_RETURN_IF_ERROR(WriteHeader(m.spec, version, group_size, sink));
    return WriteInt8Tensors(m, c, group_size, sink);
  }
  OF_RETURN_IF_ERROR(WriteHeader(m.spec, version, 0, sink));
  TransformerWeights views = ViewsOf(m.weights);
  for (const Segment& seg : Fp32Layout(version, m.spec, c)) {
    if (seg.part == Part::kRopeTables) {
      OF_RETURN_IF_ERROR(WriteRopeTables(m.spec, sink));
    } else {
      OF_RETURN_IF_ERROR(sink->Write(*Slot(&views, seg.part), static_cast<size_t>(seg.count) * 4));
    }
  }
  return Status::Ok();
}

Status WriteLlama2c(const Model& m, Llama2cVersion version, const std::string& path) {
  OF_ASSIGN_OR_RETURN(std::unique_ptr<FileSink> sink, FileSink::Create(path));
  OF_RETURN_IF_ERROR(WriteLlama2c(m, version, sink.get()));
  return sink->Commit();
}

}  // namespace orbitflow
