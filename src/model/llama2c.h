// llama2.c checkpoints (Karpathy's llama2.c, run.c / runq.c).
//
// Three layouts, all little-endian:
//  - legacy (version 0): 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
//    seq_len; a negative vocab_size means a separate classifier), then fp32 tensors: embedding,
//    rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, the legacy RoPE tables
//    (2 x seq_len x head_dim/2, skipped on load), then the classifier if not tied.
//  - version 1: a 256-byte header (uint32 magic "ak42" = 0x616b3432, int32 version, the 7 ints,
//    uint8 shared_classifier, zero padding), then fp32: rms_att, rms_ffn, rms_final, embedding,
//    wq, wk, wv, wo, w1, w2, w3, classifier if not tied.
//  - version 2: version 1's header plus int32 group_size after the flag; norms in fp32, then each
//    matrix (per layer) as int8 values followed by one fp32 scale per group. Dequantized on load.
// The format carries no rope_theta or norm_eps: llama2.c uses 10000 and 1e-5.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "model/binary_io.h"
#include "model/weights.h"
#include "orbitflow/status.h"

namespace orbitflow {

enum class Llama2cVersion { kLegacy = 0, kV1 = 1, kV2Int8 = 2 };

constexpr uint32_t kLlama2cMagic = 0x616b3432;  // "ak42"

// Parses a checkpoint held in `bytes`; `source` names it in errors and becomes the model name
// (its file stem). When `keepalive` owns `bytes` and the tensors are fp32 and aligned, the weight
// views point into `bytes` (no copy) and keep `keepalive` alive; otherwise weights are copied.
// Errors: DataLoss for truncated or oversized files and non-finite weights, InvalidArgument for
// impossible shapes, Unimplemented for unknown versions.
StatusOr<Model> ParseLlama2c(std::span<const std::byte> bytes, std::shared_ptr<void> keepalive,
                             std::string_view source);

// Memory-maps `path` and parses it (fp32 weights are used in place).
StatusOr<Model> LoadLlama2c(const std::string& path);

// Serializes `model` in the given layout. Legacy files get RoPE tables computed as llama2.c's
// export did, so old readers that use them still work.
Status WriteLlama2c(const Model& model, Llama2cVersion version, ByteSink* sink);
Status WriteLlama2c(const Model& model, Llama2cVersion version, const std::string& path);

}  // namespace orbitflow
