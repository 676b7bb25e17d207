#include "model/gguf.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <unordered_set>

#include "model/quant.h"

namespace orbitflow {

namespace {

constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS

// Bytes one element of `t` takes on disk; for strings the minimum (their length field).
size_t MinBytes(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool: return 1;
    case GgufType::kUint16:
    case GgufType::kInt16: return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32: return 4;
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
    case GgufType::kString: return 8;
    case GgufType::kArray: return 12;
  }
  return 1;
}

bool IsInteger(GgufType t) {
  return t == GgufType::kUint8 || t == GgufType::kInt8 || t == GgufType::kUint16 || t == GgufType::kInt16 ||
         t == GgufType::kUint32 || t == GgufType::kInt32 || t == GgufType::kUint64 || t == GgufType::kInt64 ||
         t == GgufType::kBool;
}

StatusOr<GgufType> ReadType(ByteReader& r, std::string_view field) {
  uint32_t raw = 0;
  OF_RETURN_IF_ERROR(r.ReadPod(&raw, field));
  if (raw > static_cast<uint32_t>(GgufType::kFloat64)) {
    return r.Corrupt(fmt::format("{} has unknown value type {}", field, raw));
  }
  return static_cast<GgufType>(raw);
}

StatusOr<std::string> ReadString(ByteReader& r, std::string_view field) {
  uint64_t len = 0;
  OF_RETURN_IF_ERROR(r.ReadPod(&len, field));
  if (len > r.remaining()) {
    return r.Corrupt(fmt::format("{} claims {} bytes, only {} remain", field, len, r.remaining()));
  }
  OF_ASSIGN_OR_RETURN(std::span<const std::byte> s, r.Take(static_cast<size_t>(len), field));
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

// Reads a T and widens it to the value's int64 or double slot.
template <typename T, typename Out>
Status ReadWidened(ByteReader& r, std::string_view field, Out* out) {
  T v{};
  OF_RETURN_IF_ERROR(r.ReadPod(&v, field));
  *out = static_cast<Out>(v);  // a uint64 keeps its bit pattern; GetInt rejects it above INT64_MAX
  return Status::Ok();
}

// Reads one scalar of type t into the matching out-parameter.
Status ReadScalar(ByteReader& r, GgufType t, std::string_view field, int64_t* integer, double* number,
                  std::string* str) {
  switch (t) {
    case GgufType::kUint8: return ReadWidened<uint8_t>(r, field, integer);
    case GgufType::kInt8: return ReadWidened<int8_t>(r, field, integer);
    case GgufType::kUint16: return ReadWidened<uint16_t>(r, field, integer);
    case GgufType::kInt16: return ReadWidened<int16_t>(r, field, integer);
    case GgufType::kUint32: return ReadWidened<uint32_t>(r, field, integer);
    case GgufType::kInt32: return ReadWidened<int32_t>(r, field, integer);
    case GgufType::kUint64: return ReadWidened<uint64_t>(r, field, integer);
    case GgufType::kInt64: return ReadWidened<int64_t>(r, field, integer);
    case GgufType::kFloat32: return ReadWidened<float>(r, field, number);
    case GgufType::kFloat64: return ReadWidened<double>(r, field, number);
    case GgufType::kBool: {
      OF_RETURN_IF_ERROR(ReadWidened<uint8_t>(r, field, integer));
      if (*integer > 1) return r.Corrupt(fmt::format("{} is a bool holding {}", field, *integer));
      return Status::Ok();
    }
    case GgufType::kString: {
      OF_ASSIGN_OR_RETURN(*str, ReadString(r, field));
      return Status::Ok();
    }
    case GgufType::kArray: break;
  }
  return Internal("ReadScalar called for an array");
}

StatusOr<GgufValue> ReadValue(ByteReader& r, GgufType type, std::string_view key) {
  GgufValue v;
  v.type = type;
  if (type != GgufType::kArray) {
    OF_RETURN_IF_ERROR(ReadScalar(r, type, key, &v.integer, &v.number, &v.string));
    return v;
  }
  OF_ASSIGN_OR_RETURN(v.array_type, ReadType(r, fmt::format("element type of {}", key)));
  if (v.array_type == GgufType::kArray) {
    return Unimplemented(
        fmt::format("{}: metadata {} is an array of arrays, which is not supported", r.source(), key));
  }
  uint64_t count = 0;
  OF_RETURN_IF_ERROR(r.ReadPod(&count, fmt::format("length of {}", key)));
  if (count > r.remaining() / MinBytes(v.array_type)) {
    return r.Corrupt(fmt::format("array {} claims {} elements, more than the file can hold", key, count));
  }
  const size_t n = static_cast<size_t>(count);
  for (size_t i = 0; i < n; ++i) {
    int64_t integer = 0;
    double number = 0.0;
    std::string str;
    OF_RETURN_IF_ERROR(ReadScalar(r, v.array_type, key, &integer, &number, &str));
    if (v.array_type == GgufType::kString) {
      if (v.strings.empty()) v.strings.reserve(n);
      v.strings.push_back(std::move(str));
    } else if (v.array_type == GgufType::kFloat32 || v.array_type == GgufType::kFloat64) {
      if (v.numbers.empty()) v.numbers.reserve(n);
      v.numbers.push_back(number);
    } else {
      if (v.integers.empty()) v.integers.reserve(n);
      v.integers.push_back(integer);
    }
  }
  return v;
}

}  // namespace

std::string GgmlTypeName(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32: return "F32";
    case GgmlType::kF16: return "F16";
    case GgmlType::kQ4_0: return "Q4_0";
    case GgmlType::kQ4_1: return "Q4_1";
    case GgmlType::kQ5_0: return "Q5_0";
    case GgmlType::kQ5_1: return "Q5_1";
    case GgmlType::kQ8_0: return "Q8_0";
    case GgmlType::kQ8_1: return "Q8_1";
    case GgmlType::kQ2_K: return "Q2_K";
    case GgmlType::kQ3_K: return "Q3_K";
    case GgmlType::kQ4_K: return "Q4_K";
    case GgmlType::kQ5_K: return "Q5_K";
    case GgmlType::kQ6_K: return "Q6_K";
    case GgmlType::kQ8_K: return "Q8_K";
    case GgmlType::kBF16: return "BF16";
  }
  return fmt::format("type {}", type);
}

GgufValue GgufValue::Uint32(uint32_t v) {
  GgufValue g;
  g.type = GgufType::kUint32;
  g.integer = v;
  return g;
}
GgufValue GgufValue::Float32(float v) {
  GgufValue g;
  g.type = GgufType::kFloat32;
  g.number = v;
  return g;
}
GgufValue GgufValue::Bool(bool v) {
  GgufValue g;
  g.type = GgufType::kBool;
  g.integer = v ? 1 : 0;
  return g;
}
GgufValue GgufValue::String(std::string v) {
  GgufValue g;
  g.type = GgufType::kString;
  g.string = std::move(v);
  return g;
}
GgufValue GgufValue::StringArray(std::vector<std::string> v) {
  GgufValue g;
  g.type = GgufType::kArray;
  g.array_type = GgufType::kString;
  g.strings = std::move(v);
  return g;
}
GgufValue GgufValue::Float32Array(std::span<const float> v) {
  GgufValue g;
  g.type = GgufType::kArray;
  g.array_type = GgufType::kFloat32;
  g.numbers.assign(v.begin(), v.end());
  return g;
}
GgufValue GgufValue::Int32Array(std::span<const int32_t> v) {
  GgufValue g;
  g.type = GgufType::kArray;
  g.array_type = GgufType::kInt32;
  g.integers.assign(v.begin(), v.end());
  return g;
}

// Bytes of `elements` values of a convertible type, or 0 for types we cannot size.
static uint64_t TensorBytes(uint32_t type, int64_t elements) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32: return static_cast<uint64_t>(elements) * 4;
    case GgmlType::kF16:
    case GgmlType::kBF16: return static_cast<uint64_t>(elements) * 2;
    case GgmlType::kQ8_0: return static_cast<uint64_t>(elements / kQ8_0BlockValues) * kQ8_0BlockBytes;
    default: return 0;
  }
}

StatusOr<GgufFile> GgufFile::Parse(std::span<const std::byte> bytes, std::string_view source) {
  GgufFile f;
  f.bytes_ = bytes;
  f.source_ = std::string(source);
  ByteReader r(bytes, source);
  char magic[4] = {};
  OF_RETURN_IF_ERROR(r.Read(magic, 4, "magic"));
  if (std::memcmp(magic, kMagic, 4) != 0) {
    return InvalidArgument(fmt::format("{}: not a GGUF file (magic is not \"GGUF\")", source));
  }
  OF_RETURN_IF_ERROR(r.ReadPod(&f.version_, "version"));
  if (f.version_ != 2 && f.version_ != 3) {
    return Unimplemented(
        fmt::format("{}: GGUF version {} is not supported (2 and 3 are)", source, f.version_));
  }
  uint64_t tensor_count = 0, kv_count = 0;
  OF_RETURN_IF_ERROR(r.ReadPod(&tensor_count, "tensor_count"));
  OF_RETURN_IF_ERROR(r.ReadPod(&kv_count, "kv_count"));
  OF_RETURN_IF_ERROR(f.ParseMetadata(r, kv_count));
  OF_RETURN_IF_ERROR(f.ParseTensorInfos(r, tensor_count));
  const uint64_t end_of_infos = r.offset();
  f.data_offset_ = (end_of_infos + f.alignment_ - 1) / f.alignment_ * f.alignment_;
  if (f.data_offset_ > bytes.size()) {
    return DataLoss(fmt::format("{}: truncated: the data section would start at byte {}, past the end ({})",
                                source, f.data_offset_, bytes.size()));
  }
  OF_RETURN_IF_ERROR(f.CheckTensorBounds());
  return f;
}

Status GgufFile::ParseMetadata(ByteReader& r, uint64_t count) {
  // Each pair takes at least a key length, a type and a 1-byte value.
  if (count > r.remaining() / 13)
    return r.Corrupt(fmt::format("kv_count {} is more than the file can hold", count));
  std::unordered_set<std::string> seen;
  for (uint64_t i = 0; i < count; ++i) {
    OF_ASSIGN_OR_RETURN(std::string key, ReadString(r, fmt::format("key of metadata pair {}", i)));
    if (!seen.insert(key).second) return r.Corrupt(fmt::format("metadata key {} appears twice", key));
    OF_ASSIGN_OR_RETURN(GgufType type, ReadType(r, fmt::format("type of {}", key)));
    OF_ASSIGN_OR_RETURN(GgufValue value, ReadValue(r, type, key));
    metadata_.emplace_back(std::move(key), std::move(value));
  }
  if (const GgufValue* a = Find("general.alignment")) {
    if (a->type != GgufType::kUint32 || a->integer <= 0 ||
        !std::has_single_bit(static_cast<uint64_t>(a->integer))) {
      return DataLoss(
          fmt::format("{}: general.alignment must be a power-of-two uint32, not {}", source_, a->integer));
    }
    alignment_ = static_cast<uint64_t>(a->integer);
  }
  return Status::Ok();
}

Status GgufFile::ParseTensorInfos(ByteReader& r, uint64_t count) {
  // Each info takes at least name length, n_dims, type and offset.
  if (count > r.remaining() / 24) {
    return r.Corrupt(fmt::format("tensor_count {} is more than the file can hold", count));
  }
  tensors_.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    GgufTensorInfo t;
    OF_ASSIGN_OR_RETURN(t.name, ReadString(r, fmt::format("name of tensor {}", i)));
    if (!tensor_index_.emplace(t.name, tensors_.size()).second) {
      return r.Corrupt(fmt::format("tensor {} appears twice", t.name));
    }
    uint32_t n_dims = 0;
    OF_RETURN_IF_ERROR(r.ReadPod(&n_dims, "n_dims"));
    if (n_dims == 0 || n_dims > kMaxDims) {
      return r.Corrupt(fmt::format("tensor {} has {} dimensions (1..{} allowed)", t.name, n_dims, kMaxDims));
    }
    t.elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = 0;
      OF_RETURN_IF_ERROR(r.ReadPod(&ne, "tensor dimension"));
      if (ne > static_cast<uint64_t>(INT64_MAX) ||
          !CheckedMul(t.elements, static_cast<int64_t>(ne), &t.elements)) {
        return r.Corrupt(fmt::format("tensor {} has an impossibly large shape", t.name));
      }
      t.dims.push_back(static_cast<int64_t>(ne));
    }
    OF_RETURN_IF_ERROR(r.ReadPod(&t.type, "tensor type"));
    OF_RETURN_IF_ERROR(r.ReadPod(&t.offset, "tensor offset"));
    if (t.offset % alignment_ != 0) {
      return r.Corrupt(fmt::format("tensor {} offset {} is not a multiple of the alignment {}", t.name,
                                   t.offset, alignment_));
    }
    tensors_.push_back(std::move(t));
  }
  return Status::Ok();
}

Status GgufFile::CheckTensorBounds() {
  const uint64_t data_size = bytes_.size() - data_offset_;
  for (const GgufTensorInfo& t : tensors_) {
    if (static_cast<GgmlType>(t.type) == GgmlType::kQ8_0 && t.dims[0] % kQ8_0BlockValues != 0) {
      return DataLoss(
          fmt::format("{}: Q8_0 tensor {} has ne[0] = {}, not a multiple of 32", source_, t.name, t.dims[0]));
    }
    // Every convertible type takes at least a byte per value: more values than data bytes
    // cannot fit (and checking this first keeps TensorBytes from overflowing).
    const bool sized = TensorBytes(t.type, kQ8_0BlockValues) > 0;
    const bool too_many = sized && static_cast<uint64_t>(t.elements) > data_size;
    const uint64_t size = too_many ? UINT64_MAX : TensorBytes(t.type, t.elements);
    if (t.offset > data_size || size > data_size - t.offset) {
      return DataLoss(
          fmt::format("{}: tensor {} ({} bytes at data offset {}) runs past the end of the file "
                      "(data section is {} bytes): truncated?",
                      source_, t.name, size, t.offset, data_size));
    }
  }
  return Status::Ok();
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  for (const auto& [k, v] : metadata_) {
    if (k == key) return &v;
  }
  return nullptr;
}

const GgufTensorInfo* GgufFile::FindTensor(std::string_view name) const {
  const auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

StatusOr<std::string> GgufFile::GetString(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFound(fmt::format("{}: metadata {} is missing", source_, key));
  if (v->type != GgufType::kString)
    return InvalidArgument(fmt::format("{}: metadata {} is not a string", source_, key));
  return v->string;
}

StatusOr<int64_t> GgufFile::GetInt(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFound(fmt::format("{}: metadata {} is missing", source_, key));
  if (!IsInteger(v->type) || (v->type == GgufType::kUint64 && v->integer < 0)) {
    return InvalidArgument(fmt::format("{}: metadata {} is not an integer in range", source_, key));
  }
  return v->integer;
}

StatusOr<int64_t> GgufFile::GetInt(std::string_view key, int64_t fallback) const {
  if (Find(key) == nullptr) return fallback;
  return GetInt(key);
}

StatusOr<double> GgufFile::GetFloat(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFound(fmt::format("{}: metadata {} is missing", source_, key));
  if (v->type == GgufType::kFloat32 || v->type == GgufType::kFloat64) return v->number;
  if (IsInteger(v->type) && v->type != GgufType::kBool) return static_cast<double>(v->integer);
  return InvalidArgument(fmt::format("{}: metadata {} is not a number", source_, key));
}

StatusOr<double> GgufFile::GetFloat(std::string_view key, double fallback) const {
  if (Find(key) == nullptr) return fallback;
  return GetFloat(key);
}

Status GgufFile::ReadTensorAsFloat(const GgufTensorInfo& t, float* dst) const {
  const std::byte* src = bytes_.data() + data_offset_ + t.offset;  // bounds checked in Parse
  const size_t n = static_cast<size_t>(t.elements);
  switch (static_cast<GgmlType>(t.type)) {
    case GgmlType::kF32: std::memcpy(dst, src, n * 4); return Status::Ok();
    case GgmlType::kF16:
    case GgmlType::kBF16: {
      const bool f16 = static_cast<GgmlType>(t.type) == GgmlType::kF16;
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = f16 ? HalfToFloat(h) : BFloat16ToFloat(h);
      }
      return Status::Ok();
    }
    case GgmlType::kQ8_0: DequantizeQ8_0(src, t.elements, dst); return Status::Ok();
    default:
      return Unimplemented(fmt::format("{}: tensor {} has type {}; supported are F32, F16, BF16 and Q8_0",
                                       source_, t.name, GgmlTypeName(t.type)));
  }
}

// ---- Writer ----

namespace {

Status WriteString(ByteSink* sink, std::string_view s) {
  OF_RETURN_IF_ERROR(sink->WritePod(static_cast<uint64_t>(s.size())));
  return sink->Write(s.data(), s.size());
}

Status WriteScalar(ByteSink* sink, GgufType t, int64_t integer, double number, std::string_view str) {
  switch (t) {
    case GgufType::kUint8: return sink->WritePod(static_cast<uint8_t>(integer));
    case GgufType::kInt8: return sink->WritePod(static_cast<int8_t>(integer));
    case GgufType::kUint16: return sink->WritePod(static_cast<uint16_t>(integer));
    case GgufType::kInt16: return sink->WritePod(static_cast<int16_t>(integer));
    case GgufType::kUint32: return sink->WritePod(static_cast<uint32_t>(integer));
    case GgufType::kInt32: return sink->WritePod(static_cast<int32_t>(integer));
    case GgufType::kUint64: return sink->WritePod(static_cast<uint64_t>(integer));
    case GgufType::kInt64: return sink->WritePod(integer);
    case GgufType::kBool: return sink->WritePod(static_cast<uint8_t>(integer != 0));
    case GgufType::kFloat32: return sink->WritePod(static_cast<float>(number));
    case GgufType::kFloat64: return sink->WritePod(number);
    case GgufType::kString: return WriteString(sink, str);
    case GgufType::kArray: break;
  }
  return InvalidArgument("GGUF writer: nested arrays are not supported");
}

Status WriteValue(ByteSink* sink, const GgufValue& v) {
  OF_RETURN_IF_ERROR(sink->WritePod(static_cast<uint32_t>(v.type)));
  if (v.type != GgufType::kArray) return WriteScalar(sink, v.type, v.integer, v.number, v.string);
  OF_RETURN_IF_ERROR(sink->WritePod(static_cast<uint32_t>(v.array_type)));
  if (v.array_type == GgufType::kString) {
    OF_RETURN_IF_ERROR(sink->WritePod(static_cast<uint64_t>(v.strings.size())));
    for (const std::string& s : v.strings) OF_RETURN_IF_ERROR(WriteString(sink, s));
  } else if (v.array_type == GgufType::kFloat32 || v.array_type == GgufType::kFloat64) {
    OF_RETURN_IF_ERROR(sink->WritePod(static_cast<uint64_t>(v.numbers.size())));
    for (double d : v.numbers) OF_RETURN_IF_ERROR(WriteScalar(sink, v.array_type, 0, d, {}));
  } else {
    OF_RETURN_IF_ERROR(sink->WritePod(static_cast<uint64_t>(v.integers.size())));
    for (int64_t i : v.integers) OF_RETURN_IF_ERROR(WriteScalar(sink, v.array_type, i, 0, {}));
  }
  return Status::Ok();
}

StatusOr<uint64_t> EncodedBytes(const GgufTensorSource& t) {
  int64_t n = 1;
  for (int64_t d : t.dims) {
    if (d < 0 || !CheckedMul(n, d, &n))
      return InvalidArgument(fmt::format("GGUF writer: tensor {} has a bad shape", t.name));
  }
  if (t.type == GgmlType::kQ8_0 && (t.dims.empty() || t.dims[0] % kQ8_0BlockValues != 0)) {
    return InvalidArgument(fmt::format("GGUF writer: Q8_0 tensor {} needs ne[0] divisible by 32", t.name));
  }
  if (t.type != GgmlType::kF32 && t.type != GgmlType::kF16 && t.type != GgmlType::kQ8_0) {
    return Unimplemented(fmt::format("GGUF writer: cannot encode {} as {}", t.name,
                                     GgmlTypeName(static_cast<uint32_t>(t.type))));
  }
  return TensorBytes(static_cast<uint32_t>(t.type), n);
}

// Converts and writes in chunks, so a multi-gigabyte tensor needs no second full copy.
Status WriteTensorData(const GgufTensorSource& t, int64_t n, ByteSink* sink) {
  if (t.type == GgmlType::kF32) return sink->Write(t.data, static_cast<size_t>(n) * 4);
  constexpr int64_t kChunk = 32 * 2048;  // values; a multiple of the Q8_0 block
  std::vector<std::byte> buf;
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t m = std::min(kChunk, n - start);
    if (t.type == GgmlType::kF16) {
      buf.resize(static_cast<size_t>(m) * 2);
      for (int64_t i = 0; i < m; ++i) {
        const uint16_t h = FloatToHalf(t.data[start + i]);
        std::memcpy(buf.data() + 2 * i, &h, 2);
      }
    } else {
      buf.resize(static_cast<size_t>(m / kQ8_0BlockValues * kQ8_0BlockBytes));
      QuantizeQ8_0(t.data + start, m, buf.data());
    }
    OF_RETURN_IF_ERROR(sink->Write(buf.data(), buf.size()));
  }
  return Status::Ok();
}

}  // namespace

Status WriteGguf(const GgufMetadata& metadata, const std::vector<GgufTensorSource>& tensors,
                 uint64_t alignment, ByteSink* sink) {
  if (alignment == 0 || !std::has_single_bit(alignment)) {
    return InvalidArgument(fmt::format("GGUF writer: alignment {} is not a power of two", alignment));
  }
  OF_RETURN_IF_ERROR(sink->Write(kMagic, 4));
  OF_RETURN_IF_ERROR(sink->WritePod(uint32_t{3}));
  OF_RETURN_IF_ERROR(sink->WritePod(static_cast<uint64_t>(tensors.size())));
  OF_RETURN_IF_ERROR(sink->WritePod(static_cast<uint64_t>(metadata.size())));
  for (const auto& [key, value] : metadata) {
    OF_RETURN_IF_ERROR(WriteString(sink, key));
    OF_RETURN_IF_ERROR(WriteValue(sink, value));
  }
  uint64_t offset = 0;
  std::vector<int64_t> elements;
  for (const GgufTensorSource& t : tensors) {
    OF_ASSIGN_OR_RETURN(uint64_t bytes, EncodedBytes(t));
    OF_RETURN_IF_ERROR(WriteString(sink, t.name));
    OF_RETURN_IF_ERROR(sink->WritePod(static_cast<uint32_t>(t.dims.size())));
    int64_t n = 1;
    for (int64_t d : t.dims) {
      OF_RETURN_IF_ERROR(sink->WritePod(static_cast<uint64_t>(d)));
      n *= d;
    }
    elements.push_back(n);
    OF_RETURN_IF_ERROR(sink->WritePod(static_cast<uint32_t>(t.type)));
    OF_RETURN_IF_ERROR(sink->WritePod(offset));
    offset = (offset + bytes + alignment - 1) / alignment * alignment;
  }
  OF_RETURN_IF_ERROR(sink->PadTo(alignment));
  for (size_t i = 0; i < tensors.size(); ++i) {
    OF_RETURN_IF_ERROR(WriteTensorData(tensors[i], elements[i], sink));
    OF_RETURN_IF_ERROR(sink->PadTo(alignment));
  }
  return Status::Ok();
}

}  // namespace orbitflow
