// A SentencePiece-style BPE tokenizer, as llama2.c runs it: pieces with scores, byte fallback,
// and repeated merging of the adjacent pair whose concatenation scores best.
//
// Encoding (llama2.c's algorithm, and SentencePiece's BPE with add_dummy_prefix):
//   1. optional BOS;
//   2. a dummy-prefix space before non-empty text (so "Hello" encodes like " Hello");
//   3. one symbol per UTF-8 character (a lead byte and up to 3 continuation bytes);
//   4. merge the adjacent pair whose concatenation is a piece with the highest score, the
//      leftmost on ties, until no pair merges (a priority queue over a linked list of symbols,
//      so a prompt of tens of thousands of tokens encodes in milliseconds);
//   5. a symbol that is not a piece becomes its bytes' <0xXX> tokens (byte fallback);
//   6. optional EOS.
// Pieces store spaces as ' ' (llama2.c's tokenizer.bin form); GGUF's U+2581 is converted at the
// file boundary.
//
// Thread safety: a Tokenizer is immutable after construction; Encode and Decode may run
// concurrently. A StreamDecoder belongs to one stream.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/binary_io.h"
#include "orbitflow/status.h"

namespace orbitflow {

// SentencePiece's piece types, numbered as GGUF's tokenizer.ggml.token_type stores them.
enum class TokenType : uint8_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,  // BOS, EOS: decode to nothing
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,  // "<0xXX>": decodes to that one raw byte
};

// The plain data a Tokenizer is built from.
struct Vocabulary {
  std::vector<std::string> pieces;  // spaces as ' '
  std::vector<float> scores;        // same length as pieces
  std::vector<TokenType> types;     // same length, or empty to infer (see Tokenizer::Create)
  int32_t bos_id = 1;
  int32_t eos_id = 2;
  int32_t unk_id = 0;
  // SentencePiece's add_dummy_prefix: encode " " + text, and strip one leading space when
  // decoding the first piece of a sequence (or the one after BOS).
  bool add_dummy_prefix = true;
};

class Tokenizer {
 public:
  // Validates sizes and special ids. Missing types are inferred as llama2.c files need:
  // unk_id -> unknown, bos/eos -> control, "<0xXX>" -> byte, everything else normal.
  static StatusOr<Tokenizer> Create(Vocabulary vocab);

  // A vocabulary for synthetic models that have none: <unk>, <s>, </s>, the 256 byte tokens,
  // then "<extra_N>" fillers up to vocab_size (never produced by Encode; they decode to their
  // name). No dummy prefix, so text round-trips byte for byte. REQUIRES vocab_size >= 259.
  static StatusOr<Tokenizer> ByteLevel(int vocab_size);

  int32_t vocab_size() const { return static_cast<int32_t>(vocab_.pieces.size()); }
  int32_t bos_id() const { return vocab_.bos_id; }
  int32_t eos_id() const { return vocab_.eos_id; }
  int32_t unk_id() const { return vocab_.unk_id; }
  const Vocabulary& vocabulary() const { return vocab_; }
  // REQUIRES: 0 <= id < vocab_size() for these three.
  std::string_view piece(int32_t id) const { return vocab_.pieces[id]; }
  float score(int32_t id) const { return vocab_.scores[id]; }
  TokenType type(int32_t id) const { return vocab_.types[id]; }
  // The id of a normal or user-defined piece, or -1.
  int32_t Find(std::string_view piece) const;

  std::vector<int32_t> Encode(std::string_view text, bool bos, bool eos) const;
  // Appends to *out; reuses its capacity (no allocation per call once warm, except internals).
  void EncodeTo(std::string_view text, bool bos, bool eos, std::vector<int32_t>* out) const;

  // The bytes of a whole sequence (control tokens vanish, byte tokens become raw bytes, the
  // dummy-prefix space of the first piece is stripped). Raw: may be invalid UTF-8 if the ids are.
  std::string Decode(std::span<const int32_t> ids) const;
  // What `id` contributes after `prev` (llama2.c's decode): the leading space is stripped after
  // BOS. Out-of-range ids give "". The view lives as long as the Tokenizer.
  std::string_view TokenText(int32_t prev, int32_t id) const;

 private:
  Status BuildIndex();
  void EmitSymbol(std::string_view symbol, std::vector<int32_t>* out) const;

  Vocabulary vocab_;
  // Open-addressing hash table of normal/user-defined piece ids (-1 = empty slot).
  std::vector<int32_t> index_;
  std::array<int32_t, 256> byte_ids_{};  // the <0xXX> token of each byte, or -1
};

// Turns a stream of token ids into text that is always whole UTF-8 characters: a character
// split across byte tokens (e.g. an emoji as <0xF0><0x9F><0x98><0x80>) is held until complete.
// Bytes that can never form a valid character are replaced with U+FFFD, so the output is valid
// UTF-8 (safe for JSON and SSE).
class StreamDecoder {
 public:
  // A stream from the start of a sequence: the first piece loses its dummy-prefix space.
  explicit StreamDecoder(const Tokenizer& tokenizer) : StreamDecoder(tokenizer, tokenizer.bos_id()) {}
  // A stream continuing after `prev_token` (e.g. the last prompt token). llama2.c strips the
  // leading space only after BOS.
  StreamDecoder(const Tokenizer& tokenizer, int32_t prev_token) : tokenizer_(&tokenizer), prev_(prev_token) {}

  // Appends the text completed by `id` to *out.
  void Push(int32_t id, std::string* out);
  std::string Push(int32_t id);
  // Appends whatever is still held (an unfinished character becomes U+FFFD) and clears it.
  void Finish(std::string* out);

 private:
  const Tokenizer* tokenizer_;
  int32_t prev_;
  std::string pending_;  // at most 3 bytes of an unfinished character
};

// llama2.c's tokenizer.bin: int32 max_token_length, then per token float32 score, int32 length,
// bytes. The file does not store the vocabulary size; it is the number of entries.
StatusOr<Tokenizer> ParseLlama2cTokenizer(std::span<const std::byte> bytes, std::string_view source);
Status WriteLlama2cTokenizer(const Tokenizer& tokenizer, ByteSink* sink);

}  // namespace orbitflow
