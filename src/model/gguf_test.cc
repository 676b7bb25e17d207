#include "model/gguf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "model/gguf_model.h"
#include "model/loader.h"
#include "model/model_test_util.h"
#include "model/quant.h"

namespace orbitflow {
namespace {

using testing_util::SameWeights;
using testing_util::Stories260KFile;
using testing_util::TinyModel;

std::span<const std::byte> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string ToGguf(const Model& m, const Tokenizer* vocab, GgmlType type = GgmlType::kF32) {
  StringSink sink;
  Status s = WriteGgufModel(m, vocab, type, &sink);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return sink.data();
}

// Offsets into a serialized tiny model, found by searching for the bytes that follow them.
size_t FindOrDie(const std::string& hay, std::string_view needle) {
  const size_t at = hay.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  return at;
}

// Overwrites the uint32 right after the tensor info's name and dims (its type).
void SetTensorType(std::string* gguf, const std::string& name, uint32_t type, int n_dims) {
  const size_t at = FindOrDie(*gguf, name) + name.size() + 4 + 8 * n_dims;
  std::memcpy(gguf->data() + at, &type, 4);
}

TEST(HalfTest, MatchesTheCompilersConversionsExhaustively) {
#if defined(__FLT16_MAX__)
  for (uint32_t h = 0; h < 65536; ++h) {
    _Float16 ref;
    const uint16_t bits = static_cast<uint16_t>(h);
    std::memcpy(&ref, &bits, 2);
    const float f = HalfToFloat(bits);
    if (std::isnan(static_cast<float>(ref))) {
      ASSERT_TRUE(std::isnan(f));
      continue;
    }
    ASSERT_EQ(f, static_cast<float>(ref)) << h;
    ASSERT_EQ(FloatToHalf(f), bits) << h;  // exact values convert back exactly
  }
  // Rounding of values between halves, including subnormals and overflow.
  uint32_t x = 12345;
  for (int i = 0; i < 200000; ++i) {
    x = x * 1664525u + 1013904223u;
    float f;
    std::memcpy(&f, &x, 4);
    if (std::isnan(f)) continue;
    const _Float16 ref = static_cast<_Float16>(f);
    uint16_t ref_bits;
    std::memcpy(&ref_bits, &ref, 2);
    ASSERT_EQ(FloatToHalf(f), ref_bits) << f;
  }
#else
  GTEST_SKIP() << "compiler has no _Float16";
#endif
}

TEST(GgufTest, Stories260KRoundTripsBitIdenticalWithItsVocabulary) {
  auto m = LoadModel(Stories260KFile("stories260K.bin"));
  auto tok = LoadTokenizer(Stories260KFile("tok512.bin"));
  ASSERT_TRUE(m.ok() && tok.ok());
  const std::string path = testing_util::TempFile("stories260K.gguf");
  ASSERT_TRUE(ExportModel(*m, &*tok, ExportFormat::kGguf, path).ok());
  auto back = LoadModel(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(SameWeights(*m, *back));
  EXPECT_EQ(back->spec.name, "stories260K");
  EXPECT_FLOAT_EQ(back->spec.rope_theta, m->spec.rope_theta);
  EXPECT_FLOAT_EQ(back->spec.norm_eps, m->spec.norm_eps);
  EXPECT_FALSE(back->spec.synthetic);

  auto tok_back = LoadTokenizer(path);
  ASSERT_TRUE(tok_back.ok()) << tok_back.status().ToString();
  const Vocabulary &a = tok->vocabulary(), &b = tok_back->vocabulary();
  EXPECT_EQ(a.pieces, b.pieces);
  EXPECT_EQ(a.scores, b.scores);
  EXPECT_EQ(a.types, b.types);
  EXPECT_EQ(a.bos_id, b.bos_id);
  EXPECT_EQ(a.eos_id, b.eos_id);
  EXPECT_EQ(tok_back->Encode("Once upon a time 😀", true, false),
            tok->Encode("Once upon a time 😀", true, false));

  // The file uses llama.cpp's conventions: U+2581 for spaces, ne[0] = in-features.
  auto bytes = ReadFileToString(path);
  ASSERT_TRUE(bytes.ok());
  auto file = GgufFile::Parse(Bytes(*bytes), path);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->version(), 3u);
  EXPECT_EQ(file->Find("tokenizer.ggml.tokens")->strings[259], "\xE2\x96\x81t");  // " t"
  EXPECT_EQ(file->FindTensor("blk.0.ffn_down.weight")->dims, (std::vector<int64_t>{172, 64}));
  EXPECT_EQ(file->FindTensor("token_embd.weight")->dims, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(file->FindTensor("output.weight"), nullptr);  // tied
  EXPECT_EQ(*file->GetInt("llama.attention.head_count_kv"), 4);
  std::remove(path.c_str());
}

TEST(GgufTest, SeparateClassifierAndSyntheticFlagSurvive) {
  Model m = TinyModel(false);
  auto back = ParseGgufModel(Bytes(ToGguf(m, nullptr)), "tiny.gguf");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(SameWeights(m, *back));
  EXPECT_FALSE(back->spec.shared_classifier);
  EXPECT_TRUE(back->spec.synthetic);
}

TEST(GgufTest, F16AndQ8_0DequantizeAsLlamaCppWould) {
  Model m = TinyModel(true);
  auto f16 = ParseGgufModel(Bytes(ToGguf(m, nullptr, GgmlType::kF16)), "f16.gguf");
  auto q8 = ParseGgufModel(Bytes(ToGguf(m, nullptr, GgmlType::kQ8_0)), "q8.gguf");
  ASSERT_TRUE(f16.ok() && q8.ok()) << f16.status().ToString() << q8.status().ToString();
  const auto orig = ListTensors(m.spec, m.weights);
  const auto h = ListTensors(f16->spec, f16->weights), q = ListTensors(q8->spec, q8->weights);
  for (size_t t = 0; t < orig.size(); ++t) {
    for (int64_t i = 0; i < orig[t].size(); ++i) {
      const float x = orig[t].data[i];
      if (orig[t].rows == 1) {  // norms stay F32
        ASSERT_EQ(h[t].data[i], x);
        ASSERT_EQ(q[t].data[i], x);
        continue;
      }
      ASSERT_EQ(h[t].data[i], HalfToFloat(FloatToHalf(x))) << orig[t].name;
      if (orig[t].cols % 32 != 0) {  // ffn_down (cols 40) falls back to F32
        ASSERT_EQ(q[t].data[i], x) << orig[t].name;
        continue;
      }
      float amax = 0;
      for (int64_t j = i / 32 * 32; j < i / 32 * 32 + 32; ++j)
        amax = std::max(amax, std::fabs(orig[t].data[j]));
      ASSERT_NEAR(q[t].data[i], x, amax / 127.0f * 0.51f + 1e-7f) << orig[t].name;
    }
  }
}

TEST(GgufTest, HonoursGeneralAlignmentAndReadsBf16) {
  Model m = TinyModel(true);
  auto f = GgufFile::Parse(Bytes(ToGguf(m, nullptr)), "a32.gguf");
  ASSERT_TRUE(f.ok());
  GgufMetadata md = f->metadata();
  md.emplace_back("general.alignment", GgufValue::Uint32(64));
  std::vector<GgufTensorSource> tensors;
  for (const NamedTensor& t : ListTensors(m.spec, m.weights)) {
    GgufTensorSource src{.name = t.name, .dims = {t.cols}, .type = GgmlType::kF16, .data = t.data};
    if (t.rows != 1) src.dims.push_back(t.rows);
    tensors.push_back(src);
  }
  StringSink sink;
  ASSERT_TRUE(WriteGguf(md, tensors, 64, &sink).ok());
  std::string bytes = sink.data();
  auto a64 = GgufFile::Parse(Bytes(bytes), "a64.gguf");
  ASSERT_TRUE(a64.ok()) << a64.status().ToString();
  EXPECT_EQ(a64->alignment(), 64u);
  for (const GgufTensorInfo& t : a64->tensors()) EXPECT_EQ(t.offset % 64, 0u) << t.name;
  auto loaded = ModelFromGguf(*a64);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->weights.wq[5], HalfToFloat(FloatToHalf(m.weights.wq[5])));
  // Relabel attn_q of layer 0 as BF16 (same 2 bytes per value): read as bfloat16 bits.
  SetTensorType(&bytes, "blk.0.attn_q.weight", 30, 2);
  auto bf = ParseGgufModel(Bytes(bytes), "bf16.gguf");
  ASSERT_TRUE(bf.ok()) << bf.status().ToString();
  EXPECT_EQ(bf->weights.wq[5], BFloat16ToFloat(FloatToHalf(m.weights.wq[5])));
  // A non-power-of-two alignment is corruption.
  GgufMetadata bad = f->metadata();
  bad.emplace_back("general.alignment", GgufValue::Uint32(48));
  StringSink bad_sink;
  ASSERT_TRUE(WriteGguf(bad, {}, 32, &bad_sink).ok());
  EXPECT_EQ(GgufFile::Parse(Bytes(bad_sink.data()), "a48.gguf").status().code(), StatusCode::kDataLoss);
}

TEST(GgufTest, ReadsMetadataOfEveryScalarType) {
  GgufMetadata md;
  auto add = [&md](std::string key, GgufType type, int64_t i, double d) {
    GgufValue v;
    v.type = type;
    v.integer = i;
    v.number = d;
    md.emplace_back(std::move(key), v);
  };
  add("u8", GgufType::kUint8, 200, 0);
  add("i8", GgufType::kInt8, -100, 0);
  add("u16", GgufType::kUint16, 60000, 0);
  add("i16", GgufType::kInt16, -30000, 0);
  add("u32", GgufType::kUint32, 4000000000, 0);
  add("i32", GgufType::kInt32, -2000000000, 0);
  add("u64", GgufType::kUint64, int64_t{1} << 40, 0);
  add("i64", GgufType::kInt64, -(int64_t{1} << 40), 0);
  add("f32", GgufType::kFloat32, 0, 0.25);
  add("f64", GgufType::kFloat64, 0, 1e-300);
  md.emplace_back("b", GgufValue::Bool(true));
  md.emplace_back("s", GgufValue::String("h\xC3\xA9llo"));
  const std::vector<int32_t> ints = {1, -2, 3};
  md.emplace_back("ai", GgufValue::Int32Array(ints));
  StringSink sink;
  ASSERT_TRUE(WriteGguf(md, {}, 32, &sink).ok());
  auto f = GgufFile::Parse(Bytes(sink.data()), "md.gguf");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(*f->GetInt("u8"), 200);
  EXPECT_EQ(*f->GetInt("i8"), -100);
  EXPECT_EQ(*f->GetInt("u16"), 60000);
  EXPECT_EQ(*f->GetInt("i16"), -30000);
  EXPECT_EQ(*f->GetInt("u32"), 4000000000);
  EXPECT_EQ(*f->GetInt("i32"), -2000000000);
  EXPECT_EQ(*f->GetInt("u64"), int64_t{1} << 40);
  EXPECT_EQ(*f->GetInt("i64"), -(int64_t{1} << 40));
  EXPECT_EQ(*f->GetFloat("f32"), 0.25);
  EXPECT_EQ(*f->GetFloat("f64"), 1e-300);
  EXPECT_EQ(*f->GetString("s"), "h\xC3\xA9llo");
  EXPECT_EQ(f->Find("b")->integer, 1);
  EXPECT_EQ(f->Find("ai")->integers, (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(f->GetInt("s").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f->GetString("missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*f->GetInt("missing", 7), 7);
}

Status ParseError(const std::string& bytes) {
  return ParseGgufModel(Bytes(bytes), "bad.gguf").status();
}

TEST(GgufTest, RejectsCorruptFilesWithClearErrors) {
  const std::string good = ToGguf(TinyModel(true), nullptr);
  ASSERT_TRUE(ParseError(good).ok());

  std::string magic = good;
  magic[0] = 'X';
  EXPECT_EQ(ParseError(magic).code(), StatusCode::kInvalidArgument);
  std::string version = good;
  version[4] = 9;
  EXPECT_EQ(ParseError(version).code(), StatusCode::kUnimplemented);
  for (size_t cut : {size_t{3}, size_t{20}, good.size() / 3, good.size() - 1}) {
    const Status s = ParseError(good.substr(0, cut));
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << cut << " " << s.ToString();
  }
  std::string q4k = good;
  SetTensorType(&q4k, "blk.1.attn_q.weight", 12, 2);
  Status s = ParseError(q4k);
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("Q4_K"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("blk.1.attn_q.weight"), std::string::npos);

  std::string shape = good;  // attn_k is {16, 8}; make it {16, 9}
  const size_t dims_at = FindOrDie(shape, "blk.0.attn_k.weight") + 19 + 4 + 8;
  shape[dims_at] = 9;
  s = ParseError(shape);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("blk.0.attn_k.weight"), std::string::npos) << s.ToString();

  std::string missing = good;
  missing[FindOrDie(missing, "blk.1.ffn_up.weight")] = 'X';
  s = ParseError(missing);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("blk.1.ffn_up.weight is missing"), std::string::npos) << s.ToString();

  std::string arch = good;
  const size_t llama_at = FindOrDie(arch, "llama");
  arch.replace(llama_at, 5, "gemma");
  s = ParseError(arch);
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("gemma"), std::string::npos);
}

TEST(GgufTest, RejectsOffsetsAndCountsOutsideTheFile) {
  const std::string good = ToGguf(TinyModel(true), nullptr);
  // The last tensor's offset: 8 bytes after its type field.
  const std::string name = "blk.1.ffn_up.weight";
  const size_t offset_at = FindOrDie(good, name) + name.size() + 4 + 16 + 4;
  std::string misaligned = good;
  misaligned[offset_at] ^= 1;
  EXPECT_EQ(ParseError(misaligned).code(), StatusCode::kDataLoss);
  std::string far = good;
  far[offset_at + 6] = 1;  // ~2^48
  Status s = ParseError(far);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find(name), std::string::npos) << s.ToString();
  // dims {2^62} of F32 would be 2^64 bytes: it must not wrap around to a small size.
  const float data[4] = {1, 2, 3, 4};
  StringSink one;
  ASSERT_TRUE(
      WriteGguf({}, {{.name = "t", .dims = {4}, .type = GgmlType::kF32, .data = data}}, 32, &one).ok());
  std::string wrap = one.data();
  const uint64_t huge = uint64_t{1} << 62;
  std::memcpy(wrap.data() + FindOrDie(wrap, "t") + 1 + 4, &huge, 8);
  EXPECT_EQ(GgufFile::Parse(Bytes(wrap), "wrap.gguf").status().code(), StatusCode::kDataLoss);
  std::string counts = good;
  counts[8 + 7] = 0x7f;  // tensor_count ~ 2^62
  EXPECT_EQ(ParseError(counts).code(), StatusCode::kDataLoss);
  counts = good;
  counts[16 + 6] = 1;  // kv_count ~ 2^48
  EXPECT_EQ(ParseError(counts).code(), StatusCode::kDataLoss);
}

TEST(GgufTest, TokenizerErrors) {
  const std::string no_vocab = ToGguf(TinyModel(true), nullptr);
  auto f = GgufFile::Parse(Bytes(no_vocab), "novocab.gguf");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(TokenizerFromGgufFile(*f).status().code(), StatusCode::kNotFound);
  auto byte_level = Tokenizer::ByteLevel(300);
  ASSERT_TRUE(byte_level.ok());
  std::string gpt2 = ToGguf(TinyModel(true), &*byte_level);
  gpt2.replace(FindOrDie(gpt2, "tokenizer.ggml.model") + 20 + 4 + 8, 5, "gpt2x");
  auto g = GgufFile::Parse(Bytes(gpt2), "gpt2.gguf");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(TokenizerFromGgufFile(*g).status().code(), StatusCode::kUnimplemented);
  // A byte-level vocabulary round-trips, including its lack of a dummy prefix.
  auto h = GgufFile::Parse(Bytes(ToGguf(TinyModel(true), &*byte_level)), "bytes.gguf");
  ASSERT_TRUE(h.ok());
  auto tok = TokenizerFromGgufFile(*h);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_FALSE(tok->vocabulary().add_dummy_prefix);
  EXPECT_EQ(tok->Decode(tok->Encode(" x y", true, false)), " x y");
  Model wrong = TinyModel(true);
  wrong.spec.vocab_size = 299;  // the vocabulary must match the model
  StringSink sink;
  EXPECT_EQ(WriteGgufModel(wrong, &*byte_level, GgmlType::kF32, &sink).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace orbitflow
