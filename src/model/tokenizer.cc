#include "model/tokenizer.h"

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <functional>
#include <queue>

namespace orbitflow {

namespace {

// One byte per entry, so a byte token can return a view of its single raw byte.
constexpr std::array<char, 256> MakeByteTable() {
  std::array<char, 256> t{};
  for (int i = 0; i < 256; ++i) t[i] = static_cast<char>(i);
  return t;
}
constexpr std::array<char, 256> kByteTable = MakeByteTable();

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The byte of a "<0xXX>" piece, or -1.
int ParseBytePiece(std::string_view p) {
  if (p.size() != 6 || p[0] != '<' || p[1] != '0' || p[2] != 'x' || p[5] != '>') return -1;
  const int hi = HexDigit(p[3]), lo = HexDigit(p[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

size_t HashPiece(std::string_view s) {
  return std::hash<std::string_view>{}(s);
}

}  // namespace

StatusOr<Tokenizer> Tokenizer::Create(Vocabulary vocab) {
  const size_t n = vocab.pieces.size();
  if (n == 0) return InvalidArgument("tokenizer: the vocabulary is empty");
  if (n > static_cast<size_t>(INT32_MAX / 2))
    return InvalidArgument("tokenizer: the vocabulary is too large");
  if (vocab.scores.size() != n) {
    return InvalidArgument(fmt::format("tokenizer: {} pieces but {} scores", n, vocab.scores.size()));
  }
  if (!vocab.types.empty() && vocab.types.size() != n) {
    return InvalidArgument(fmt::format("tokenizer: {} pieces but {} token types", n, vocab.types.size()));
  }
  for (auto [field, id] :
       {std::pair{"bos_id", vocab.bos_id}, {"eos_id", vocab.eos_id}, {"unk_id", vocab.unk_id}}) {
    if (id < 0 || static_cast<size_t>(id) >= n) {
      return InvalidArgument(fmt::format("tokenizer: {} = {} is outside the vocabulary of {}", field, id, n));
    }
  }
  if (vocab.types.empty()) {
    vocab.types.resize(n, TokenType::kNormal);
    for (size_t i = 0; i < n; ++i) {
      if (ParseBytePiece(vocab.pieces[i]) >= 0) vocab.types[i] = TokenType::kByte;
    }
    vocab.types[vocab.unk_id] = TokenType::kUnknown;
    vocab.types[vocab.bos_id] = TokenType::kControl;
    vocab.types[vocab.eos_id] = TokenType::kControl;
  }
  for (size_t i = 0; i < n; ++i) {
    const auto t = static_cast<int>(vocab.types[i]);
    if (t < 1 || t > 6) return InvalidArgument(fmt::format("tokenizer: token {} has unknown type {}", i, t));
    if (!std::isfinite(vocab.scores[i])) {
      return InvalidArgument(fmt::format("tokenizer: token {} has score {}", i, vocab.scores[i]));
    }
  }
  Tokenizer tok;
  tok.vocab_ = std::move(vocab);
  OF_RETURN_IF_ERROR(tok.BuildIndex());
  return tok;
}

Status Tokenizer::BuildIndex() {
  byte_ids_.fill(-1);
  const size_t n = vocab_.pieces.size();
  index_.assign(std::bit_ceil(2 * n + 1), -1);
  const size_t mask = index_.size() - 1;
  for (size_t i = 0; i < n; ++i) {
    const std::string_view p = vocab_.pieces[i];
    const TokenType t = vocab_.types[i];
    if (t == TokenType::kByte) {
      const int b = ParseBytePiece(p);
      if (b < 0) return InvalidArgument(fmt::format("tokenizer: byte token {} is '{}', not <0xXX>", i, p));
      if (byte_ids_[b] < 0) byte_ids_[b] = static_cast<int32_t>(i);
      continue;
    }
    // Only pieces that text can become are merge targets; control, unknown and unused never.
    if (t != TokenType::kNormal && t != TokenType::kUserDefined) continue;
    if (p.empty()) continue;
    size_t slot = HashPiece(p) & mask;
    while (index_[slot] >= 0 && vocab_.pieces[index_[slot]] != p) slot = (slot + 1) & mask;
    if (index_[slot] < 0) index_[slot] = static_cast<int32_t>(i);  // duplicates: lowest id wins
  }
  return Status::Ok();
}

StatusOr<Tokenizer> Tokenizer::ByteLevel(int vocab_size) {
  if (vocab_size < 259) {
    return InvalidArgument(
        fmt::format("byte-level tokenizer: vocab_size = {} must be at least 259", vocab_size));
  }
  Vocabulary v;
  v.pieces = {"<unk>", "<s>", "</s>"};
  v.types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl};
  for (int b = 0; b < 256; ++b) {
    v.pieces.push_back(fmt::format("<0x{:02X}>", b));
    v.types.push_back(TokenType::kByte);
  }
  for (int i = 259; i < vocab_size; ++i) {
    v.pieces.push_back(fmt::format("<extra_{}>", i));
    v.types.push_back(TokenType::kUnused);
  }
  v.scores.assign(v.pieces.size(), 0.0f);
  v.add_dummy_prefix = false;
  return Create(std::move(v));
}

int32_t Tokenizer::Find(std::string_view piece) const {
  if (index_.empty()) return -1;
  const size_t mask = index_.size() - 1;
  for (size_t slot = HashPiece(piece) & mask;; slot = (slot + 1) & mask) {
    const int32_t id = index_[slot];
    if (id < 0 || vocab_.pieces[id] == piece) return id;
  }
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool bos, bool eos) const {
  std::vector<int32_t> out;
  EncodeTo(text, bos, eos, &out);
  return out;
}

namespace {

// A run of the normalized text; merged symbols grow, absorbed ones get len 0.
struct Symbol {
  size_t start;
  size_t len;
  int64_t prev;  // -1 at the ends
  int64_t next;
};

// A pair that could merge into a piece. Stale entries (a side changed since) are skipped.
struct Candidate {
  float score;
  int64_t left;
  int64_t right;
  size_t len;
};
struct WorseCandidate {
  // Highest score first; on ties the leftmost pair, as llama2.c's left-to-right scan picks.
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void Tokenizer::EncodeTo(std::string_view text, bool bos, bool eos, std::vector<int32_t>* out) const {
  if (bos) out->push_back(vocab_.bos_id);
  if (!text.empty()) {
    std::string norm;
    norm.reserve(text.size() + 1);
    if (vocab_.add_dummy_prefix) norm.push_back(' ');
    norm.append(text);

    // One symbol per UTF-8 character: a byte and the continuation bytes after it (at most 4).
    std::vector<Symbol> sym;
    sym.reserve(norm.size());
    for (size_t i = 0; i < norm.size();) {
      size_t j = i + 1;
      while (j < norm.size() && j - i < 4 && (static_cast<unsigned char>(norm[j]) & 0xC0) == 0x80) ++j;
      const auto k = static_cast<int64_t>(sym.size());
      sym.push_back({i, j - i, k - 1, k + 1});
      i = j;
    }
    sym.back().next = -1;

    std::priority_queue<Candidate, std::vector<Candidate>, WorseCandidate> queue;
    auto consider = [&](int64_t left, int64_t right) {
      if (left < 0 || right < 0) return;
      const size_t len = sym[left].len + sym[right].len;
      const int32_t id = Find(std::string_view(norm).substr(sym[left].start, len));
      if (id >= 0) queue.push({vocab_.scores[id], left, right, len});
    };
    for (size_t i = 0; i + 1 < sym.size(); ++i)
      consider(static_cast<int64_t>(i), static_cast<int64_t>(i + 1));

    while (!queue.empty()) {
      const Candidate c = queue.top();
      queue.pop();
      Symbol& l = sym[c.left];
      Symbol& r = sym[c.right];
      if (l.len == 0 || r.len == 0 || l.next != c.right || l.len + r.len != c.len) continue;  // stale
      l.len += r.len;
      r.len = 0;
      l.next = r.next;
      if (r.next >= 0) sym[r.next].prev = c.left;
      consider(l.prev, c.left);
      consider(c.left, l.next);
    }
    for (int64_t s = 0; s >= 0; s = sym[s].next) {
      EmitSymbol(std::string_view(norm).substr(sym[s].start, sym[s].len), out);
    }
  }
  if (eos) out->push_back(vocab_.eos_id);
}

void Tokenizer::EmitSymbol(std::string_view symbol, std::vector<int32_t>* out) const {
  const int32_t id = Find(symbol);
  if (id >= 0) {
    out->push_back(id);
    return;
  }
  // Byte fallback: each byte as its <0xXX> token (the unknown token if the vocab lacks it).
  for (char ch : symbol) {
    const int32_t b = byte_ids_[static_cast<unsigned char>(ch)];
    out->push_back(b >= 0 ? b : vocab_.unk_id);
  }
}

std::string_view Tokenizer::TokenText(int32_t prev, int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  switch (vocab_.types[id]) {
    case TokenType::kControl: return {};
    case TokenType::kByte: {
      const int b = ParseBytePiece(vocab_.pieces[id]);
      return std::string_view(&kByteTable[b], 1);
    }
    default: break;
  }
  std::string_view p = vocab_.pieces[id];
  // SentencePiece strips the dummy-prefix space at the start of a sequence (llama2.c: after BOS).
  if (prev == vocab_.bos_id && vocab_.add_dummy_prefix && !p.empty() && p[0] == ' ') p.remove_prefix(1);
  return p;
}

std::string Tokenizer::Decode(std::span<const int32_t> ids) const {
  std::string out;
  int32_t prev = vocab_.bos_id;  // the start of a sequence behaves like "after BOS"
  for (int32_t id : ids) {
    out.append(TokenText(prev, id));
    prev = id;
  }
  return out;
}

}  // namespace orbitflow
