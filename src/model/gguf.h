// The GGUF container (llama.cpp's model file format, versions 2 and 3), independent of what the
// model is: metadata key/values, tensor descriptors, aligned tensor data.
//
// Layout (little-endian): "GGUF", uint32 version, uint64 tensor_count, uint64 kv_count; kv_count
// pairs (string key, uint32 value type, value); tensor_count infos (string name, uint32 n_dims,
// uint64 ne[n_dims] fastest-varying first, uint32 ggml type, uint64 offset into the data
// section); zero padding to `general.alignment` (default 32); the data section. A string is a
// uint64 byte length then the bytes; an array is uint32 element type, uint64 count, elements.
//
// The reader checks every count and offset against the file size before using it, so a corrupt
// or hostile file gives a Status, never an out-of-bounds read or a huge allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "model/binary_io.h"
#include "orbitflow/status.h"

namespace orbitflow {

enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// ggml tensor types we name in messages; we can convert F32, F16, BF16 and Q8_0.
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kBF16 = 30,
};
std::string GgmlTypeName(uint32_t type);

// One metadata value. Which fields hold it depends on `type`:
//   integers and bools -> integer (a uint64 keeps its bit pattern), floats -> number,
//   strings -> string; arrays (type kArray, element type array_type) -> integers, numbers or
//   strings likewise. Arrays of arrays are not supported.
struct GgufValue {
  GgufType type = GgufType::kUint32;
  GgufType array_type = GgufType::kUint32;
  int64_t integer = 0;
  double number = 0.0;
  std::string string;
  std::vector<int64_t> integers;
  std::vector<double> numbers;
  std::vector<std::string> strings;

  static GgufValue Uint32(uint32_t v);
  static GgufValue Float32(float v);
  static GgufValue Bool(bool v);
  static GgufValue String(std::string v);
  static GgufValue StringArray(std::vector<std::string> v);
  static GgufValue Float32Array(std::span<const float> v);
  static GgufValue Int32Array(std::span<const int32_t> v);
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // ne[], fastest-varying first: a [rows][cols] matrix is {cols, rows}
  uint32_t type = 0;          // a GgmlType value (unknown values are kept as read)
  uint64_t offset = 0;        // from the start of the data section
  int64_t elements = 0;       // product of dims
};

using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;

class GgufFile {
 public:
  // Parses the header, metadata and tensor infos of `bytes` (which must outlive the GgufFile);
  // tensor data is not touched. Errors: InvalidArgument for a non-GGUF file, Unimplemented for
  // other versions, DataLoss for truncation and out-of-range counts, offsets or alignments.
  static StatusOr<GgufFile> Parse(std::span<const std::byte> bytes, std::string_view source);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  const std::string& source() const { return source_; }
  const GgufMetadata& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }

  // nullptr when absent.
  const GgufValue* Find(std::string_view key) const;
  const GgufTensorInfo* FindTensor(std::string_view name) const;

  // Typed getters: NotFound when absent, InvalidArgument naming the key on a type mismatch.
  StatusOr<std::string> GetString(std::string_view key) const;
  StatusOr<int64_t> GetInt(std::string_view key) const;   // any integer type
  StatusOr<double> GetFloat(std::string_view key) const;  // float32/64 (or an integer)
  // As above, but `fallback` when the key is absent (a present key of the wrong type still fails).
  StatusOr<int64_t> GetInt(std::string_view key, int64_t fallback) const;
  StatusOr<double> GetFloat(std::string_view key, double fallback) const;

  // Converts a tensor of type F32, F16, BF16 or Q8_0 to float32 into dst[0 .. elements).
  // Unimplemented for other types (naming the tensor and type).
  Status ReadTensorAsFloat(const GgufTensorInfo& tensor, float* dst) const;

 private:
  Status ParseMetadata(ByteReader& r, uint64_t count);
  Status ParseTensorInfos(ByteReader& r, uint64_t count);
  Status CheckTensorBounds();

  std::span<const std::byte> bytes_;
  std::string source_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  GgufMetadata metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;  // name -> position in tensors_
};

// A tensor to write, converted from float32 to `type` (F32, F16 or Q8_0) as it is written.
struct GgufTensorSource {
  std::string name;
  std::vector<int64_t> dims;  // fastest-varying first
  GgmlType type = GgmlType::kF32;
  const float* data = nullptr;  // dims' product floats
};

// Writes a GGUF v3 file. Tensors are laid out in the given order, each padded to `alignment`
// (a power of two; 32 unless general.alignment says otherwise, which the caller must also put
// in `metadata`).
Status WriteGguf(const GgufMetadata& metadata, const std::vector<GgufTensorSource>& tensors,
                 uint64_t alignment, ByteSink* sink);

}  // namespace orbitflow
