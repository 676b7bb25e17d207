// Llama models and SentencePiece vocabularies in GGUF files, as llama.cpp writes them.
//
// Metadata: general.architecture = "llama"; llama.context_length, llama.embedding_length,
// llama.block_count, llama.feed_forward_length, llama.attention.head_count,
// llama.attention.head_count_kv (default: head_count), llama.rope.freq_base (default 10000),
// llama.attention.layer_norm_rms_epsilon (default 1e-5).
// Tensors: token_embd.weight, output_norm.weight, output.weight (absent = tied to the
// embedding), blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate,
// ffn_down, ffn_up}.weight; types F32, F16, BF16 or Q8_0, dequantized to float32 on load.
// llama.cpp's "llama" RoPE rotates adjacent pairs, like llama2.c, so Q and K need no permutation.
// Vocabulary: tokenizer.ggml.model = "llama" (SentencePiece BPE), tokenizer.ggml.tokens (spaces
// as U+2581), .scores, .token_type, .bos_token_id, .eos_token_id, .unknown_token_id,
// .add_space_prefix.
// Our own key orbitflow.synthetic = true marks generated weights so they stay labelled.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "model/binary_io.h"
#include "model/gguf.h"
#include "model/tokenizer.h"
#include "model/weights.h"
#include "orbitflow/status.h"

namespace orbitflow {

// Builds a Model from a parsed GGUF file: checks the architecture, every shape and type, and
// that all weights are finite. The model name is general.name, else the file stem.
StatusOr<Model> ModelFromGguf(const GgufFile& file);
// Parses `bytes` (not kept: weights are copied and converted) as a GGUF Llama model.
StatusOr<Model> ParseGgufModel(std::span<const std::byte> bytes, std::string_view source);
// Memory-maps and loads a GGUF Llama model.
StatusOr<Model> LoadGguf(const std::string& path);

// The tokenizer.ggml.* vocabulary of a GGUF file. Unimplemented for non-SentencePiece
// vocabularies (e.g. Llama 3's "gpt2" BPE).
StatusOr<Tokenizer> TokenizerFromGgufFile(const GgufFile& file);
StatusOr<Tokenizer> TokenizerFromGguf(const std::string& path);

// Writes `model` (and `vocab`, if not null; its size must equal the model's vocab_size) as
// GGUF v3. Matrices are stored as `weight_type` (F32, F16 or Q8_0; Q8_0 falls back to F32 for a
// matrix whose rows are not a multiple of 32 values); norm vectors always as F32.
Status WriteGgufModel(const Model& model, const Tokenizer* vocab, GgmlType weight_type, ByteSink* sink);

}  // namespace orbitflow
