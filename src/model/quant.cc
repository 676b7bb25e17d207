#include "model/quant.h"

#include <bit>
#include <cmath>
#include <cstring>

namespace orbitflow {

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;  // signed zero
    } else {
      // Subnormal half: shift the mantissa up until its implicit bit appears.
      int shifts = 0;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        ++shifts;
      }
      bits = sign | (static_cast<uint32_t>(127 - 15 + 1 - shifts) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);  // infinity or NaN (payload kept)
  } else {
    bits = sign | ((exp + (127 - 15)) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

// Fabian Giesen's float_to_half_fast3_rtne: exact round-to-nearest-even without branches on
// the mantissa; subnormals go through a float addition that rounds for us.
uint16_t FloatToHalf(float f) {
  constexpr uint32_t kF32Infinity = 255u << 23;
  constexpr uint32_t kF16Max = (127u + 16u) << 23;  // 65536: at or above this is infinity
  constexpr uint32_t kDenormMagic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
  uint32_t u = std::bit_cast<uint32_t>(f);
  const uint32_t sign = u & 0x80000000u;
  u ^= sign;
  uint32_t out;
  if (u >= kF16Max) {
    out = u > kF32Infinity ? 0x7e00u : 0x7c00u;  // NaN -> quiet NaN, else infinity
  } else if (u < (113u << 23)) {
    // Result is subnormal or zero: align the 10 mantissa bits at the bottom of a float.
    const float sum = std::bit_cast<float>(u) + std::bit_cast<float>(kDenormMagic);
    out = std::bit_cast<uint32_t>(sum) - kDenormMagic;
  } else {
    const uint32_t mant_odd = (u >> 13) & 1u;
    u += (static_cast<uint32_t>(15 - 127) << 23) + 0xfffu;  // rebias exponent, round half down
    u += mant_odd;                                          // ... and half to even
    out = u >> 13;
  }
  return static_cast<uint16_t>(out | (sign >> 16));
}

float BFloat16ToFloat(uint16_t b) {
  return std::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

void DequantizeQ8_0(const std::byte* src, int64_t n, float* dst) {
  for (int64_t b = 0; b < n / kQ8_0BlockValues; ++b) {
    const std::byte* block = src + b * kQ8_0BlockBytes;
    uint16_t d16;
    std::memcpy(&d16, block, 2);
    const float d = HalfToFloat(d16);
    const int8_t* q = reinterpret_cast<const int8_t*>(block + 2);
    for (int i = 0; i < kQ8_0BlockValues; ++i) dst[b * kQ8_0BlockValues + i] = d * q[i];
  }
}

void QuantizeQ8_0(const float* src, int64_t n, std::byte* dst) {
  for (int64_t b = 0; b < n / kQ8_0BlockValues; ++b) {
    const float* x = src + b * kQ8_0BlockValues;
    float amax = 0.0f;
    for (int i = 0; i < kQ8_0BlockValues; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    std::byte* block = dst + b * kQ8_0BlockBytes;
    const uint16_t d16 = FloatToHalf(d);
    std::memcpy(block, &d16, 2);
    int8_t* q = reinterpret_cast<int8_t*>(block + 2);
    for (int i = 0; i < kQ8_0BlockValues; ++i) q[i] = static_cast<int8_t>(std::lround(x[i] * id));
  }
}

void DequantizeGroupsInt8(const int8_t* q, const float* scales, int64_t n, int64_t group_size, float* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = q[i] * scales[i / group_size];
}

void QuantizeGroupsInt8(const float* src, int64_t n, int64_t group_size, int8_t* q, float* scales) {
  for (int64_t g = 0; g < n / group_size; ++g) {
    const float* x = src + g * group_size;
    float wmax = 0.0f;
    for (int64_t i = 0; i < group_size; ++i) wmax = std::max(wmax, std::fabs(x[i]));
    const float scale = wmax / 127.0f;
    scales[g] = scale;
    for (int64_t i = 0; i < group_size; ++i) {
      const float v = scale != 0.0f ? x[i] / scale : 0.0f;
      q[g * group_size + i] = static_cast<int8_t>(std::lround(v));
    }
  }
}

}  // namespace orbitflow
