// Token ids to client text for one request: whole UTF-8 characters (StreamDecoder), the end of
// sequence hidden, and stop strings cut (text that could still become a stop string is held back
// until it cannot).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "model/tokenizer.h"

namespace orbitflow {

class TextStream {
 public:
  TextStream(const Tokenizer& tokenizer, int32_t last_prompt_token, std::vector<std::string> stops)
      : decoder_(tokenizer, last_prompt_token), eos_(tokenizer.eos_id()), stops_(std::move(stops)) {
    for (const std::string& s : stops_) hold_ = std::max(hold_, s.size() - 1);
  }

  // Adds a token; returns the text that can go to the client now.
  std::string Add(int32_t token) {
    if (stopped_) return {};
    if (token != eos_) decoder_.Push(token, &text_);
    return Release(/*final=*/false);
  }
  // At the end of the request: whatever is still held.
  std::string Finish() {
    if (!stopped_) decoder_.Finish(&text_);
    return Release(/*final=*/true);
  }
  // A stop string was found: the request should end now with finish_reason "stop".
  bool stopped() const { return stopped_; }

 private:
  std::string Release(bool final) {
    for (const std::string& s : stops_) {
      const size_t at = text_.find(s);
      if (at != std::string::npos && at < cut_) cut_ = at;
    }
    if (cut_ != std::string::npos) {
      stopped_ = true;
      text_.resize(cut_);
      final = true;
    }
    const size_t until = final ? text_.size() : (text_.size() > hold_ ? text_.size() - hold_ : 0);
    if (until <= emitted_) return {};
    std::string out = text_.substr(emitted_, until - emitted_);
    emitted_ = until;
    return out;
  }

  StreamDecoder decoder_;
  int32_t eos_;
  std::vector<std::string> stops_;
  size_t hold_ = 0;
  std::string text_;
  size_t emitted_ = 0;
  size_t cut_ = std::string::npos;
  bool stopped_ = false;
};

}  // namespace orbitflow
