#include "model/tokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "model/loader.h"
#include "model/model_test_util.h"

namespace orbitflow {
namespace {

using testing_util::Llama2TokenizerFile;
using testing_util::Stories260KFile;
using testing_util::TestDataFile;

Tokenizer LoadOrDie(const std::string& path) {
  auto t = LoadTokenizer(path);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

const Tokenizer& Llama2() {
  static const Tokenizer* tok = new Tokenizer(LoadOrDie(Llama2TokenizerFile()));
  return *tok;
}
const Tokenizer& Tok512() {
  static const Tokenizer* tok = new Tokenizer(LoadOrDie(Stories260KFile("tok512.bin")));
  return *tok;
}

#define SKIP_WITHOUT_LLAMA2_VOCAB() \
  if (!std::filesystem::exists(Llama2TokenizerFile())) GTEST_SKIP() << "no " << Llama2TokenizerFile()

const std::vector<std::string> kUnicodeTexts = {
    "Hello world",
    "café naïve résumé — “quoted” ‘text’",
    "日本語のテキストです。中文测试，你好世界！한국어",
    "😀 emoji 🎉👍🏽 family: 👨‍👩‍👧 flags 🇫🇷",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 e\u0301 \u200b zero width",
    "  two leading spaces, trailing tab\t",
    "lines\n\nand\r\nmore\n",
    "\x01\x02 control \x7f bytes",
};

TEST(TokenizerTest, LoadsBothLlama2cVocabularies) {
  EXPECT_EQ(Tok512().vocab_size(), 512);
  EXPECT_EQ(Tok512().bos_id(), 1);
  EXPECT_EQ(Tok512().eos_id(), 2);
  EXPECT_EQ(Tok512().type(0), TokenType::kUnknown);
  EXPECT_EQ(Tok512().type(1), TokenType::kControl);
  EXPECT_EQ(Tok512().type(3), TokenType::kByte);
  EXPECT_EQ(Tok512().piece(3 + 'A'), "<0x41>");
  EXPECT_EQ(Tok512().type(259), TokenType::kNormal);
  SKIP_WITHOUT_LLAMA2_VOCAB();
  EXPECT_EQ(Llama2().vocab_size(), 32000);
}

TEST(TokenizerTest, KnownLlama2Encodings) {
  SKIP_WITHOUT_LLAMA2_VOCAB();
  // Hand-verified against Meta's tokenizer (also llama2.c's README example).
  EXPECT_EQ(Llama2().Encode("Hello world", true, false), (std::vector<int32_t>{1, 15043, 3186}));
  EXPECT_EQ(Llama2().Encode("Hello world", true, true), (std::vector<int32_t>{1, 15043, 3186, 2}));
  EXPECT_EQ(Llama2().Encode("", true, false), (std::vector<int32_t>{1}));
  // A newline has no piece of its own: byte fallback gives <0x0A> = 10 + 3.
  EXPECT_EQ(Llama2().Encode("\n", false, false), (std::vector<int32_t>{29871, 13}));
}

// Every case of a fixture generated with the reference SentencePiece implementation.
void CheckAgainstFixture(const Tokenizer& tok, const std::string& fixture) {
  std::ifstream in(TestDataFile(fixture));
  ASSERT_TRUE(in.good()) << fixture;
  const nlohmann::json j = nlohmann::json::parse(in);
  int checked = 0;
  for (const auto& c : j.at("cases")) {
    const std::string text = c.at("text").get<std::string>();
    const std::vector<int32_t> want = c.at("ids").get<std::vector<int32_t>>();
    EXPECT_EQ(tok.Encode(text, false, false), want) << "text: '" << text << "'";
    EXPECT_EQ(tok.Decode(want), text) << "text: '" << text << "'";
    ++checked;
  }
  EXPECT_GT(checked, 200);
}

TEST(TokenizerTest, MatchesSentencePieceOnTheLlama2Vocabulary) {
  SKIP_WITHOUT_LLAMA2_VOCAB();
  CheckAgainstFixture(Llama2(), "spm_llama2.json");
}

TEST(TokenizerTest, MatchesSentencePieceOnTok512) {
  CheckAgainstFixture(Tok512(), "spm_tok512.json");
}

TEST(TokenizerTest, UnicodeRoundTrips) {
  std::vector<const Tokenizer*> toks = {&Tok512()};
  if (std::filesystem::exists(Llama2TokenizerFile())) toks.push_back(&Llama2());
  auto byte_level = Tokenizer::ByteLevel(1000);
  ASSERT_TRUE(byte_level.ok());
  toks.push_back(&*byte_level);
  for (const Tokenizer* tok : toks) {
    for (const std::string& text : kUnicodeTexts) {
      const std::vector<int32_t> ids = tok->Encode(text, true, true);
      EXPECT_EQ(ids.front(), tok->bos_id());
      EXPECT_EQ(ids.back(), tok->eos_id());
      EXPECT_EQ(tok->Decode(ids), text) << "vocab " << tok->vocab_size();
      // Streaming gives the same text, one token at a time.
      StreamDecoder stream(*tok);
      std::string streamed;
      for (int32_t id : ids) stream.Push(id, &streamed);
      stream.Finish(&streamed);
      EXPECT_EQ(streamed, text) << "vocab " << tok->vocab_size();
    }
  }
}

TEST(TokenizerTest, Tok512UsesByteFallbackForUnknownCharacters) {
  // tok512 has no piece for CJK characters: each UTF-8 byte becomes <0xXX> = byte + 3.
  const std::vector<int32_t> ids = Tok512().Encode("日", false, false);
  ASSERT_GE(ids.size(), 3u);
  const std::vector<int32_t> tail(ids.end() - 3, ids.end());
  EXPECT_EQ(tail, (std::vector<int32_t>{0xE6 + 3, 0x97 + 3, 0xA5 + 3}));
}

TEST(TokenizerTest, DecodeStripsTheDummyPrefixOnlyAtTheStart) {
  const Tokenizer& tok = Tok512();
  const std::vector<int32_t> ids = tok.Encode("the cat", false, false);
  EXPECT_EQ(tok.Decode(ids), "the cat");
  ASSERT_GE(ids.size(), 2u);
  // After a non-BOS token the space stays, as llama2.c prints it.
  EXPECT_EQ(tok.TokenText(ids[0], ids[1]).front(), ' ');
  EXPECT_EQ(tok.TokenText(tok.bos_id(), ids[0]).front(), 't');
  StreamDecoder continuing(tok, ids[0]);
  EXPECT_EQ(continuing.Push(ids[1]).front(), ' ');
  EXPECT_EQ(tok.TokenText(tok.bos_id(), tok.eos_id()), "");
  EXPECT_EQ(tok.TokenText(0, -5), "");
  EXPECT_EQ(tok.TokenText(0, 100000), "");
}

TEST(StreamDecoderTest, HoldsPartialCharactersUntilComplete) {
  const Tokenizer& tok = Tok512();
  StreamDecoder s(tok, 5);
  // U+1F600 as four byte tokens.
  EXPECT_EQ(s.Push(0xF0 + 3), "");
  EXPECT_EQ(s.Push(0x9F + 3), "");
  EXPECT_EQ(s.Push(0x98 + 3), "");
  EXPECT_EQ(s.Push(0x80 + 3), "😀");
  EXPECT_EQ(s.Push('A' + 3), "A");
}

TEST(StreamDecoderTest, ReplacesInvalidBytesAndFlushesOnFinish) {
  const Tokenizer& tok = Tok512();
  StreamDecoder s(tok, 5);
  EXPECT_EQ(s.Push(0xFF + 3), "\xEF\xBF\xBD");  // never valid
  EXPECT_EQ(s.Push(0xE2 + 3), "");              // start of a 3-byte character
  EXPECT_EQ(s.Push('x' + 3),
            "\xEF\xBF\xBD"
            "x");  // ... broken by 'x'
  EXPECT_EQ(s.Push(0xED + 3), "");
  EXPECT_EQ(s.Push(0xA0 + 3), "\xEF\xBF\xBD\xEF\xBF\xBD");  // ED A0 would be a surrogate
  EXPECT_EQ(s.Push(0xC3 + 3), "");
  std::string tail;
  s.Finish(&tail);
  EXPECT_EQ(tail, "\xEF\xBF\xBD");
  EXPECT_EQ(s.Push('y' + 3), "y");
}

TEST(TokenizerTest, LongPromptsEncodeFastAndRoundTrip) {
  // ~60k tokens: the priority-queue merge keeps this near-linear (llama2.c's rescan would be
  // quadratic: minutes).
  std::string text;
  std::mt19937 rng(1);
  const std::vector<std::string> words = {"the ",  "little ", "girl ", "saw ",     "a ",    "big ",
                                          "dog. ", "Lily ",   "was ",  "happy!\n", "日本 ", "😀 "};
  while (text.size() < 300000) text += words[rng() % words.size()];
  const Tokenizer& tok = Tok512();
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = tok.Encode(text, true, false);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(ids.size(), 50000u);
  EXPECT_EQ(tok.Decode(ids), text);
  RecordProperty("encode_seconds", std::to_string(seconds));
}

TEST(TokenizerTest, ByteLevelVocabulary) {
  auto tok = Tokenizer::ByteLevel(300);
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ(tok->vocab_size(), 300);
  EXPECT_EQ(tok->Encode("Hi", false, false), (std::vector<int32_t>{'H' + 3, 'i' + 3}));
  EXPECT_EQ(tok->type(299), TokenType::kUnused);
  EXPECT_EQ(tok->TokenText(5, 299), "<extra_299>");
  EXPECT_FALSE(Tokenizer::ByteLevel(100).ok());
}

TEST(TokenizerTest, CreateValidatesTheVocabulary) {
  Vocabulary v;
  EXPECT_FALSE(Tokenizer::Create(v).ok());
  v.pieces = {"<unk>", "<s>", "</s>", "a"};
  v.scores = {0, 0, 0};
  EXPECT_FALSE(Tokenizer::Create(v).ok());  // scores size
  v.scores = {0, 0, 0, 0};
  v.eos_id = 9;
  EXPECT_FALSE(Tokenizer::Create(v).ok());  // eos outside
  v.eos_id = 2;
  v.types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl, TokenType::kByte};
  EXPECT_FALSE(Tokenizer::Create(v).ok());  // "a" is not <0xXX>
  v.types.clear();
  auto tok = Tokenizer::Create(v);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  // No byte tokens: unknown characters fall back to <unk>.
  EXPECT_EQ(tok->Encode("b", false, false), (std::vector<int32_t>{0, 0}));
}

TEST(TokenizerTest, Llama2cFormatRoundTripsAndRejectsCorruption) {
  StringSink sink;
  ASSERT_TRUE(WriteLlama2cTokenizer(Tok512(), &sink).ok());
  auto original = ReadFileToString(Stories260KFile("tok512.bin"));
  ASSERT_TRUE(original.ok());
  EXPECT_EQ(sink.data(), *original);  // byte-identical rewrite
  const std::string& bytes = sink.data();
  auto as_span = [](const std::string& s) {
    return std::span<const std::byte>(reinterpret_cast<const std::byte*>(s.data()), s.size());
  };
  auto cut = ParseLlama2cTokenizer(as_span(bytes.substr(0, bytes.size() - 1)), "cut.bin");
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), StatusCode::kDataLoss);
  std::string bad = bytes;
  const int32_t huge = 1000;
  std::memcpy(bad.data() + 8, &huge, 4);  // length of token 0 beyond max_token_length
  auto b = ParseLlama2cTokenizer(as_span(bad), "bad.bin");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("token 0"), std::string::npos) << b.status().ToString();
}

}  // namespace
}  // namespace orbitflow
