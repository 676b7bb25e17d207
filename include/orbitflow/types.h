// Strong ids and units shared by every layer, so a swapped argument does not compile.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace orbitflow {

// An integer id that only compares with ids of the same Tag.
template <typename Tag, typename Rep = int64_t>
class StrongId {
 public:
  using rep = Rep;
  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep v) : v_(v) {}
  constexpr Rep value() const { return v_; }
  friend constexpr auto operator<=>(StrongId, StrongId) = default;

 private:
  Rep v_{};
};

struct RequestIdTag {};
struct LayerIdTag {};
struct BlockIdTag {};
using RequestId = StrongId<RequestIdTag, int64_t>;
// Layers are 0-based in code; the spec's layer j is LayerId(j - 1).
using LayerId = StrongId<LayerIdTag, int32_t>;
// A block's identity inside one pool (device or host).
using BlockId = StrongId<BlockIdTag, int32_t>;

// Where a block's bytes live.
enum class Tier : uint8_t { kDevice, kHost };
inline const char* TierName(Tier t) { return t == Tier::kDevice ? "device" : "host"; }

// Time as a double count of seconds: std::chrono gives unit safety for free.
using Seconds = std::chrono::duration<double>;
using Micros = std::chrono::duration<double, std::micro>;

// A count of bytes.
class Bytes {
 public:
  constexpr Bytes() = default;
  constexpr explicit Bytes(int64_t n) : n_(n) {}
  constexpr int64_t count() const { return n_; }
  friend constexpr auto operator<=>(Bytes, Bytes) = default;
  friend constexpr Bytes operator+(Bytes a, Bytes b) { return Bytes(a.n_ + b.n_); }
  friend constexpr Bytes operator-(Bytes a, Bytes b) { return Bytes(a.n_ - b.n_); }
  friend constexpr Bytes operator*(Bytes a, int64_t k) { return Bytes(a.n_ * k); }
  friend constexpr Bytes operator*(int64_t k, Bytes a) { return Bytes(a.n_ * k); }
  constexpr Bytes& operator+=(Bytes b) { n_ += b.n_; return *this; }

 private:
  int64_t n_ = 0;
};

// Tokens per KV block, as vLLM and the reference implementation use.
inline constexpr int kBlockTokens = 16;

// Blocks needed to hold `tokens` tokens of one layer.
constexpr int64_t BlocksForTokens(int64_t tokens) {
  return (tokens + kBlockTokens - 1) / kBlockTokens;
}

}  // namespace orbitflow

template <typename Tag, typename Rep>
struct std::hash<orbitflow::StrongId<Tag, Rep>> {
  size_t operator()(orbitflow::StrongId<Tag, Rep> id) const noexcept {
    return std::hash<Rep>()(id.value());
  }
};
