// The model layer's front door: load a model or tokenizer by name or path, pick a tokenizer for
// a model, export a model to another format.
#pragma once

#include <string>
#include <string_view>

#include "model/gguf.h"
#include "model/tokenizer.h"
#include "model/weights.h"
#include "orbitflow/status.h"

namespace orbitflow {

// Loads a model from a spec string:
//   "synthetic:<name>"  deterministic generated weights at a built-in shape (LookupModelSpec
//                       names, e.g. synthetic:stories110m, synthetic:llama-3.2-1b with its full
//                       128,256-token vocabulary, 4.9 GB of fp32 weights); spec.synthetic is set.
//   a file path         GGUF when the file starts with "GGUF", otherwise a llama2.c checkpoint
//                       (legacy or versioned header). llama2.c fp32 weights are used in place
//                       from a memory map; GGUF weights are converted to fp32.
// NotFound for a missing file or unknown synthetic name; other errors as the format loaders.
StatusOr<Model> LoadModel(std::string_view spec);

// A tokenizer file: a GGUF file's tokenizer.ggml.* vocabulary, or a llama2.c tokenizer.bin.
StatusOr<Tokenizer> LoadTokenizer(const std::string& path);

// The tokenizer to run `spec` with. With a path: that file, which must not have more tokens
// than the model's vocab_size. Without (empty path): for a synthetic model, a byte-level
// vocabulary of the model's size (Tokenizer::ByteLevel); real models need their tokenizer
// (InvalidArgument). Synthetic stories110m has the Llama 2 vocabulary size, so passing the
// Llama 2 tokenizer.bin (shared data: tokenizers/llama2c_tokenizer.bin) gives real subword text.
StatusOr<Tokenizer> TokenizerForModel(const ModelSpec& spec, const std::string& tokenizer_path);

enum class ExportFormat {
  kLlama2c,    // llama2.c legacy (version 0) checkpoint, readable by run.c
  kLlama2cV1,  // llama2.c version 1 (fp32, 256-byte header)
  kGguf,       // GGUF v3 with the vocabulary, if given
};

struct ExportOptions {
  ExportFormat format = ExportFormat::kGguf;
  // GGUF only: how matrices are stored (F32, F16 or Q8_0); norms are always F32.
  GgmlType gguf_weight_type = GgmlType::kF32;
};

// Writes `model` to `path` (atomically: a temporary file renamed into place). `vocab` may be
// null; GGUF embeds it (its size must equal the model's vocab_size); llama2.c checkpoints do not
// carry one: save it with SaveLlama2cTokenizer.
Status ExportModel(const Model& model, const Tokenizer* vocab, ExportFormat format, const std::string& path);
Status ExportModel(const Model& model, const Tokenizer* vocab, const ExportOptions& options,
                   const std::string& path);

// Writes a llama2.c tokenizer.bin.
Status SaveLlama2cTokenizer(const Tokenizer& tokenizer, const std::string& path);

}  // namespace orbitflow
