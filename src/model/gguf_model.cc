#include "model/gguf_model.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <limits>
#include <optional>

#include "model/mapped_file.h"
#include "model/weight_layout.h"

namespace orbitflow {

namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s.substr(i, from.size()) == from) {
      out.append(to);
      i += from.size();
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

// A shape field: a positive integer that fits an int.
StatusOr<int> ShapeField(const GgufFile& f, std::string_view key, std::optional<int64_t> fallback) {
  StatusOr<int64_t> v = fallback ? f.GetInt(key, *fallback) : f.GetInt(key);
  if (!v.ok()) return v.status();
  if (*v <= 0 || *v > std::numeric_limits<int32_t>::max()) {
    return InvalidArgument(fmt::format("{}: metadata {} = {} is not a valid size", f.source(), key, *v));
  }
  return static_cast<int>(*v);
}

// Llama 3.1+ files carry RoPE frequency scaling (rope_freqs.weight, llama.rope.scaling.*),
// which ModelSpec cannot express yet: the weights load, but long-context outputs will differ
// from llama.cpp's. Said once per load, loudly, rather than refusing real checkpoints.
void WarnAboutRopeScaling(const GgufFile& f) {
  const GgufValue* type = f.Find("llama.rope.scaling.type");
  const bool scaled = (type != nullptr && type->type == GgufType::kString && type->string != "none") ||
                      f.FindTensor("rope_freqs.weight") != nullptr;
  if (scaled) {
    spdlog::warn(
        "{}: this model uses RoPE frequency scaling, which is not implemented; it runs with plain "
        "RoPE",
        f.source());
  }
}

StatusOr<ModelSpec> SpecFromGguf(const GgufFile& f) {
  OF_ASSIGN_OR_RETURN(std::string arch, f.GetString("general.architecture"));
  if (arch != "llama") {
    return Unimplemented(
        fmt::format("{}: general.architecture is '{}'; only 'llama' is supported", f.source(), arch));
  }
  ModelSpec s;
  s.name = FileStem(f.source());
  if (const GgufValue* name = f.Find("general.name"); name != nullptr && name->type == GgufType::kString) {
    s.name = name->string;
  }
  OF_ASSIGN_OR_RETURN(s.dim, ShapeField(f, "llama.embedding_length", std::nullopt));
  OF_ASSIGN_OR_RETURN(s.hidden_dim, ShapeField(f, "llama.feed_forward_length", std::nullopt));
  OF_ASSIGN_OR_RETURN(s.n_layers, ShapeField(f, "llama.block_count", std::nullopt));
  OF_ASSIGN_OR_RETURN(s.n_heads, ShapeField(f, "llama.attention.head_count", std::nullopt));
  OF_ASSIGN_OR_RETURN(s.n_kv_heads, ShapeField(f, "llama.attention.head_count_kv", s.n_heads));
  OF_ASSIGN_OR_RETURN(s.max_seq_len, ShapeField(f, "llama.context_length", std::nullopt));
  OF_ASSIGN_OR_RETURN(double theta, f.GetFloat("llama.rope.freq_base", 10000.0));
  OF_ASSIGN_OR_RETURN(double eps, f.GetFloat("llama.attention.layer_norm_rms_epsilon", 1e-5));
  if (!(theta > 0 && std::isfinite(theta)) || !(eps > 0 && std::isfinite(eps))) {
    return InvalidArgument(fmt::format(
        "{}: rope.freq_base = {} and layer_norm_rms_epsilon = {} must be positive", f.source(), theta, eps));
  }
  s.rope_theta = static_cast<float>(theta);
  s.norm_eps = static_cast<float>(eps);
  if (s.n_heads > 0 && s.dim % s.n_heads == 0) {
    OF_ASSIGN_OR_RETURN(int64_t rot, f.GetInt("llama.rope.dimension_count", s.dim / s.n_heads));
    if (rot != s.dim / s.n_heads) {
      return Unimplemented(
          fmt::format("{}: llama.rope.dimension_count = {} (partial rotary) is not supported; "
                      "head_dim is {}",
                      f.source(), rot, s.dim / s.n_heads));
    }
  }
  // The vocabulary size is the embedding's row count.
  const GgufTensorInfo* emb = f.FindTensor("token_embd.weight");
  if (emb == nullptr)
    return InvalidArgument(fmt::format("{}: tensor token_embd.weight is missing", f.source()));
  if (emb->dims.size() < 2 || emb->dims[1] <= 0 || emb->dims[1] > std::numeric_limits<int32_t>::max()) {
    return InvalidArgument(
        fmt::format("{}: token_embd.weight must be 2-D [embedding_length, vocab]", f.source()));
  }
  s.vocab_size = static_cast<int>(emb->dims[1]);
  OF_ASSIGN_OR_RETURN(int64_t vocab_key, f.GetInt("llama.vocab_size", s.vocab_size));
  if (vocab_key != s.vocab_size) {
    return InvalidArgument(fmt::format("{}: llama.vocab_size = {} but token_embd.weight has {} rows",
                                       f.source(), vocab_key, s.vocab_size));
  }
  s.shared_classifier = f.FindTensor("output.weight") == nullptr;
  s.kv_bytes_per_elem = 4;  // the CPU executor keeps its KV cache in fp32
  WarnAboutRopeScaling(f);
  if (const GgufValue* syn = f.Find("orbitflow.synthetic"); syn != nullptr && syn->type == GgufType::kBool) {
    s.synthetic = syn->integer != 0;
  }
  return s;
}

// A GGUF shape matches [rows][cols] when it is {cols, rows} (or {cols} for a vector), allowing
// trailing 1s.
bool ShapeMatches(const GgufTensorInfo& t, const NamedTensor& want) {
  std::vector<int64_t> expect = {want.cols};
  if (want.rows != 1) expect.push_back(want.rows);
  for (size_t i = 0; i < t.dims.size(); ++i) {
    const int64_t e = i < expect.size() ? expect[i] : 1;
    if (t.dims[i] != e) return false;
  }
  return t.dims.size() >= expect.size();
}

bool IsConvertible(uint32_t type) {
  const auto t = static_cast<GgmlType>(type);
  return t == GgmlType::kF32 || t == GgmlType::kF16 || t == GgmlType::kBF16 || t == GgmlType::kQ8_0;
}

std::string ShapeString(const std::vector<int64_t>& dims) {
  return fmt::format("[{}]", fmt::join(dims, ", "));
}

}  // namespace

StatusOr<Model> ModelFromGguf(const GgufFile& f) {
  OF_ASSIGN_OR_RETURN(ModelSpec spec, SpecFromGguf(f));
  OF_RETURN_IF_ERROR(CountWeights(spec).status().Annotate(f.source()));
  // Check every tensor against the file before allocating: the metadata alone could claim a
  // model far larger than the file (and than memory). First the count, which also bounds the
  // list built below.
  const int64_t needed = 2 + (spec.shared_classifier ? 0 : 1) + int64_t{9} * spec.n_layers;
  if (static_cast<int64_t>(f.tensors().size()) < needed) {
    return InvalidArgument(fmt::format("{}: block_count = {} needs {} tensors, the file has {}", f.source(),
                                       spec.n_layers, needed, f.tensors().size()));
  }
  std::vector<const GgufTensorInfo*> infos;
  for (const NamedTensor& want : ListTensorShapes(spec)) {
    const GgufTensorInfo* t = f.FindTensor(want.name);
    if (t == nullptr) return InvalidArgument(fmt::format("{}: tensor {} is missing", f.source(), want.name));
    if (!ShapeMatches(*t, want)) {
      return InvalidArgument(
          fmt::format("{}: tensor {} has shape {}, expected {} (ne[0] = in-features)", f.source(), want.name,
                      ShapeString(t->dims),
                      want.rows == 1 ? ShapeString({want.cols}) : ShapeString({want.cols, want.rows})));
    }
    if (!IsConvertible(t->type)) {
      return Unimplemented(fmt::format("{}: tensor {} has type {}; supported are F32, F16, BF16 and Q8_0",
                                       f.source(), want.name, GgmlTypeName(t->type)));
    }
    infos.push_back(t);
  }
  OF_ASSIGN_OR_RETURN(TransformerWeights weights, AllocateWeights(spec));
  Model m;
  m.spec = std::move(spec);
  m.weights = std::move(weights);
  float* base = m.weights.storage.data();
  const std::vector<NamedTensor> tensors = ListTensors(m.spec, m.weights);
  for (size_t i = 0; i < tensors.size(); ++i) {
    OF_RETURN_IF_ERROR(f.ReadTensorAsFloat(*infos[i], base + (tensors[i].data - base)));
  }
  OF_RETURN_IF_ERROR(CheckFinite(m.spec, m.weights, f.source()));
  return m;
}

StatusOr<Model> ParseGgufModel(std::span<const std::byte> bytes, std::string_view source) {
  OF_ASSIGN_OR_RETURN(GgufFile file, GgufFile::Parse(bytes, source));
  return ModelFromGguf(file);
}

StatusOr<Model> LoadGguf(const std::string& path) {
  OF_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> mapped, MappedFile::Open(path));
  return ParseGgufModel(mapped->bytes(), path);  // weights are copied; the map goes away
}

StatusOr<Tokenizer> TokenizerFromGgufFile(const GgufFile& f) {
  OF_ASSIGN_OR_RETURN(std::string model, f.GetString("tokenizer.ggml.model"));
  if (model != "llama") {
    return Unimplemented(
        fmt::format("{}: tokenizer.ggml.model is '{}'; only 'llama' (SentencePiece BPE) is "
                    "supported",
                    f.source(), model));
  }
  const GgufValue* tokens = f.Find("tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->type != GgufType::kArray || tokens->array_type != GgufType::kString) {
    return InvalidArgument(fmt::format("{}: tokenizer.ggml.tokens must be an array of strings", f.source()));
  }
  const size_t n = tokens->strings.size();
  Vocabulary v;
  v.pieces.reserve(n);
  for (const std::string& t : tokens->strings) v.pieces.push_back(ReplaceAll(t, kSpaceMarker, " "));
  if (const GgufValue* scores = f.Find("tokenizer.ggml.scores")) {
    if (scores->type != GgufType::kArray || scores->numbers.size() != n) {
      return InvalidArgument(fmt::format("{}: tokenizer.ggml.scores must be {} floats", f.source(), n));
    }
    v.scores.assign(scores->numbers.begin(), scores->numbers.end());
  } else {
    v.scores.assign(n, 0.0f);
  }
  if (const GgufValue* types = f.Find("tokenizer.ggml.token_type")) {
    if (types->type != GgufType::kArray || types->integers.size() != n) {
      return InvalidArgument(fmt::format("{}: tokenizer.ggml.token_type must be {} integers", f.source(), n));
    }
    for (int64_t t : types->integers) {
      if (t < 1 || t > 6) return InvalidArgument(fmt::format("{}: token type {} is not 1..6", f.source(), t));
      v.types.push_back(static_cast<TokenType>(t));
    }
  }
  OF_ASSIGN_OR_RETURN(int64_t bos, f.GetInt("tokenizer.ggml.bos_token_id", 1));
  OF_ASSIGN_OR_RETURN(int64_t eos, f.GetInt("tokenizer.ggml.eos_token_id", 2));
  OF_ASSIGN_OR_RETURN(int64_t unk, f.GetInt("tokenizer.ggml.unknown_token_id", 0));
  for (int64_t id : {bos, eos, unk}) {
    if (id >= static_cast<int64_t>(n)) {
      return InvalidArgument(
          fmt::format("{}: special token id {} is outside the vocabulary of {}", f.source(), id, n));
    }
  }
  v.bos_id = static_cast<int32_t>(bos);
  v.eos_id = static_cast<int32_t>(eos);
  v.unk_id = static_cast<int32_t>(unk);
  if (const GgufValue* prefix = f.Find("tokenizer.ggml.add_space_prefix");
      prefix && prefix->type == GgufType::kBool) {
    v.add_dummy_prefix = prefix->integer != 0;
  }
  auto tok = Tokenizer::Create(std::move(v));
  if (!tok.ok()) return tok.status().Annotate(f.source());
  return tok;
}

StatusOr<Tokenizer> TokenizerFromGguf(const std::string& path) {
  OF_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> mapped, MappedFile::Open(path));
  OF_ASSIGN_OR_RETURN(GgufFile file, GgufFile::Parse(mapped->bytes(), path));
  return TokenizerFromGgufFile(file);
}

namespace {

void AddVocabulary(const Tokenizer& tok, GgufMetadata* md) {
  const Vocabulary& v = tok.vocabulary();
  std::vector<std::string> pieces;
  pieces.reserve(v.pieces.size());
  for (const std::string& p : v.pieces) pieces.push_back(ReplaceAll(p, " ", kSpaceMarker));
  std::vector<int32_t> types;
  types.reserve(v.types.size());
  for (TokenType t : v.types) types.push_back(static_cast<int32_t>(t));
  md->emplace_back("tokenizer.ggml.model", GgufValue::String("llama"));
  md->emplace_back("tokenizer.ggml.tokens", GgufValue::StringArray(std::move(pieces)));
  md->emplace_back("tokenizer.ggml.scores", GgufValue::Float32Array(v.scores));
  md->emplace_back("tokenizer.ggml.token_type", GgufValue::Int32Array(types));
  md->emplace_back("tokenizer.ggml.bos_token_id", GgufValue::Uint32(static_cast<uint32_t>(v.bos_id)));
  md->emplace_back("tokenizer.ggml.eos_token_id", GgufValue::Uint32(static_cast<uint32_t>(v.eos_id)));
  md->emplace_back("tokenizer.ggml.unknown_token_id", GgufValue::Uint32(static_cast<uint32_t>(v.unk_id)));
  md->emplace_back("tokenizer.ggml.add_space_prefix", GgufValue::Bool(v.add_dummy_prefix));
}

// llama.cpp's general.file_type (LLAMA_FTYPE_*): what most weights are stored as.
uint32_t FileType(GgmlType t) {
  switch (t) {
    case GgmlType::kF16: return 1;
    case GgmlType::kQ8_0: return 7;
    default: return 0;
  }
}

}  // namespace

Status WriteGgufModel(const Model& model, const Tokenizer* vocab, GgmlType weight_type, ByteSink* sink) {
  const ModelSpec& s = model.spec;
  OF_RETURN_IF_ERROR(CountWeights(s).status());
  if (weight_type != GgmlType::kF32 && weight_type != GgmlType::kF16 && weight_type != GgmlType::kQ8_0) {
    return InvalidArgument(fmt::format("GGUF export: weight type {} is not one of F32, F16, Q8_0",
                                       GgmlTypeName(static_cast<uint32_t>(weight_type))));
  }
  if (vocab != nullptr && vocab->vocab_size() != s.vocab_size) {
    return InvalidArgument(
        fmt::format("GGUF export: the tokenizer has {} tokens but model '{}' has vocab_size {}",
                    vocab->vocab_size(), s.name, s.vocab_size));
  }
  GgufMetadata md;
  md.emplace_back("general.architecture", GgufValue::String("llama"));
  md.emplace_back("general.name", GgufValue::String(s.name));
  md.emplace_back("general.file_type", GgufValue::Uint32(FileType(weight_type)));
  md.emplace_back("llama.context_length", GgufValue::Uint32(static_cast<uint32_t>(s.max_seq_len)));
  md.emplace_back("llama.embedding_length", GgufValue::Uint32(static_cast<uint32_t>(s.dim)));
  md.emplace_back("llama.block_count", GgufValue::Uint32(static_cast<uint32_t>(s.n_layers)));
  md.emplace_back("llama.feed_forward_length", GgufValue::Uint32(static_cast<uint32_t>(s.hidden_dim)));
  md.emplace_back("llama.rope.dimension_count", GgufValue::Uint32(static_cast<uint32_t>(s.head_dim())));
  md.emplace_back("llama.attention.head_count", GgufValue::Uint32(static_cast<uint32_t>(s.n_heads)));
  md.emplace_back("llama.attention.head_count_kv", GgufValue::Uint32(static_cast<uint32_t>(s.n_kv_heads)));
  md.emplace_back("llama.attention.layer_norm_rms_epsilon", GgufValue::Float32(s.norm_eps));
  md.emplace_back("llama.rope.freq_base", GgufValue::Float32(s.rope_theta));
  md.emplace_back("llama.vocab_size", GgufValue::Uint32(static_cast<uint32_t>(s.vocab_size)));
  if (s.synthetic) md.emplace_back("orbitflow.synthetic", GgufValue::Bool(true));
  if (vocab != nullptr) AddVocabulary(*vocab, &md);

  std::vector<GgufTensorSource> tensors;
  for (const NamedTensor& t : ListTensors(s, model.weights)) {
    GgufTensorSource src{.name = t.name, .dims = {t.cols}, .type = GgmlType::kF32, .data = t.data};
    if (t.rows != 1) {
      src.dims.push_back(t.rows);
      src.type = weight_type;
      if (weight_type == GgmlType::kQ8_0 && t.cols % 32 != 0) src.type = GgmlType::kF32;
    }
    tensors.push_back(std::move(src));
  }
  return WriteGguf(md, tensors, 32, sink);
}

}  // namespace orbitflow
