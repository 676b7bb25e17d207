// Number formats that model files store weights in, and their conversion to float32.
// The CPU executor computes in float32, so loaders dequantize once at load time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace orbitflow {

// IEEE 754 binary16 <-> binary32. FloatToHalf rounds to nearest even; overflow gives infinity.
float HalfToFloat(uint16_t h);
uint16_t FloatToHalf(float f);
// bfloat16 is the top half of a float32.
float BFloat16ToFloat(uint16_t b);

// ggml's Q8_0: blocks of 32 values, each block a float16 scale d then 32 int8 q; x = d * q.
constexpr int64_t kQ8_0BlockValues = 32;
constexpr int64_t kQ8_0BlockBytes = 2 + 32;
// REQUIRES: n % kQ8_0BlockValues == 0; src holds n / 32 blocks.
void DequantizeQ8_0(const std::byte* src, int64_t n, float* dst);
// ggml's reference quantizer: d = max|x| / 127, q = round(x / d).
void QuantizeQ8_0(const float* src, int64_t n, std::byte* dst);

// llama2.c's version-2 export ("Q8_0" in runq.c): per group of `group_size` consecutive values,
// int8 q then, after all the q of a tensor, one float32 scale per group; x = q * scale.
void DequantizeGroupsInt8(const int8_t* q, const float* scales, int64_t n, int64_t group_size, float* dst);
// REQUIRES: n % group_size == 0. Writes n int8 and n / group_size scales.
void QuantizeGroupsInt8(const float* src, int64_t n, int64_t group_size, int8_t* q, float* scales);

}  // namespace orbitflow
