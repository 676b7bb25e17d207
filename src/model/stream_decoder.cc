// StreamDecoder: token ids to whole, valid UTF-8 characters.
#include "model/tokenizer.h"

namespace orbitflow {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The well-formed UTF-8 character at the start of s (Unicode table 3-7):
//   > 0: its length; 0: s is a valid but unfinished start of one; < 0: s starts no valid
//   character, and -result bytes (the maximal valid prefix, at least 1) should be replaced.
int CharAt(std::string_view s) {
  const auto c = static_cast<unsigned char>(s[0]);
  if (c < 0x80) return 1;
  int len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // no overlong forms
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return -1;
  }
  for (int i = 1; i < len; ++i) {
    if (static_cast<size_t>(i) >= s.size()) return 0;
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) return -i;
  }
  return len;
}

}  // namespace

void StreamDecoder::Push(int32_t id, std::string* out) {
  pending_.append(tokenizer_->TokenText(prev_, id));
  prev_ = id;
  size_t i = 0;
  while (i < pending_.size()) {
    const int r = CharAt(std::string_view(pending_).substr(i));
    if (r == 0) break;  // hold the unfinished character for the next token
    if (r > 0) {
      out->append(pending_, i, static_cast<size_t>(r));
      i += static_cast<size_t>(r);
    } else {
      out->append(kReplacement);
      i += static_cast<size_t>(-r);
    }
  }
  pending_.erase(0, i);
}

std::string StreamDecoder::Push(int32_t id) {
  std::string out;
  Push(id, &out);
  return out;
}

void StreamDecoder::Finish(std::string* out) {
  if (!pending_.empty()) out->append(kReplacement);
  pending_.clear();
}

}  // namespace orbitflow
