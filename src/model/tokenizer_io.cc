// llama2.c's tokenizer.bin format.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "model/tokenizer.h"

namespace orbitflow {

StatusOr<Tokenizer> ParseLlama2cTokenizer(std::span<const std::byte> bytes, std::string_view source) {
  ByteReader r(bytes, source);
  int32_t max_token_length = 0;
  OF_RETURN_IF_ERROR(r.ReadPod(&max_token_length, "max_token_length"));
  if (max_token_length <= 0) return r.Corrupt(fmt::format("max_token_length is {}", max_token_length));
  Vocabulary v;
  while (r.remaining() > 0) {
    const size_t id = v.pieces.size();
    float score = 0.0f;
    int32_t len = 0;
    OF_RETURN_IF_ERROR(r.ReadPod(&score, fmt::format("score of token {}", id)));
    OF_RETURN_IF_ERROR(r.ReadPod(&len, fmt::format("length of token {}", id)));
    if (len < 0 || len > max_token_length) {
      return r.Corrupt(
          fmt::format("token {} has length {}, outside 0..max_token_length={}", id, len, max_token_length));
    }
    if (!std::isfinite(score)) return r.Corrupt(fmt::format("token {} has score {}", id, score));
    OF_ASSIGN_OR_RETURN(std::span<const std::byte> piece,
                        r.Take(static_cast<size_t>(len), fmt::format("piece of token {}", id)));
    v.pieces.emplace_back(reinterpret_cast<const char*>(piece.data()), piece.size());
    v.scores.push_back(score);
  }
  // llama2.c hard-codes <unk> = 0, BOS = 1, EOS = 2.
  if (v.pieces.size() < 3) {
    return DataLoss(fmt::format("{}: {} tokens; a llama2.c vocabulary has at least <unk>, BOS and EOS",
                                source, v.pieces.size()));
  }
  auto tok = Tokenizer::Create(std::move(v));
  if (!tok.ok()) return tok.status().Annotate(source);
  return tok;
}

Status WriteLlama2cTokenizer(const Tokenizer& tokenizer, ByteSink* sink) {
  const Vocabulary& v = tokenizer.vocabulary();
  if (!v.add_dummy_prefix) {
    return InvalidArgument("llama2.c tokenizer.bin cannot express a vocabulary without the dummy prefix");
  }
  if (v.unk_id != 0 || v.bos_id != 1 || v.eos_id != 2) {
    return InvalidArgument(fmt::format("llama2.c tokenizer.bin needs unk/bos/eos = 0/1/2, not {}/{}/{}",
                                       v.unk_id, v.bos_id, v.eos_id));
  }
  size_t max_len = 1;
  for (const std::string& p : v.pieces) max_len = std::max(max_len, p.size());
  OF_RETURN_IF_ERROR(sink->WritePod(static_cast<int32_t>(max_len)));
  for (size_t i = 0; i < v.pieces.size(); ++i) {
    OF_RETURN_IF_ERROR(sink->WritePod(v.scores[i]));
    OF_RETURN_IF_ERROR(sink->WritePod(static_cast<int32_t>(v.pieces[i].size())));
    OF_RETURN_IF_ERROR(sink->Write(v.pieces[i].data(), v.pieces[i].size()));
  }
  return Status::Ok();
}

}  // namespace orbitflow
