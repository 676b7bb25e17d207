// Bounds-checked little-endian reading and writing of model files.
//
// Every loader reads through ByteReader, so a truncated or lying file becomes a DataLoss Status
// naming the file, the field and the offset, never an out-of-bounds read. Writers go through a
// ByteSink, so the same serializer can stream a multi-gigabyte model to disk or build a small one
// in memory for tests.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "orbitflow/status.h"

namespace orbitflow {

static_assert(std::endian::native == std::endian::little,
              "model files are little-endian; a big-endian port needs byte swaps here");

// a * b, or nullopt-like failure through the return value when it overflows int64.
inline bool CheckedMul(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}
inline bool CheckedAdd(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

// Reads from a byte span; `source` (usually the file name) prefixes every error.
class ByteReader {
 public:
  ByteReader(std::span<const std::byte> data, std::string_view source) : data_(data), source_(source) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  size_t size() const { return data_.size(); }
  const std::string& source() const { return source_; }

  // Copies n bytes to dst, or DataLoss naming `field` when fewer than n remain.
  Status Read(void* dst, size_t n, std::string_view field);
  // Returns a view of the next n bytes and advances past them.
  StatusOr<std::span<const std::byte>> Take(size_t n, std::string_view field);
  Status Skip(size_t n, std::string_view field);
  Status Seek(size_t offset, std::string_view field);

  template <typename T>
  Status ReadPod(T* out, std::string_view field) {
    static_assert(std::is_trivially_copyable_v<T>);
    return Read(out, sizeof(T), field);
  }

  // DataLoss "<source>: <what> at byte <offset>".
  Status Corrupt(std::string_view what) const;

 private:
  std::span<const std::byte> data_;
  size_t pos_ = 0;
  std::string source_;
};

// Destination for serialized bytes. Tracks how many were written so formats can pad.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  Status Write(const void* data, size_t n);
  template <typename T>
  Status WritePod(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    return Write(&v, sizeof(T));
  }
  // Writes zero bytes until bytes_written() is a multiple of `alignment`.
  Status PadTo(size_t alignment);
  uint64_t bytes_written() const { return written_; }

 protected:
  virtual Status DoWrite(const void* data, size_t n) = 0;

 private:
  uint64_t written_ = 0;
};

// Collects bytes in memory.
class StringSink : public ByteSink {
 public:
  std::string& data() { return data_; }

 protected:
  Status DoWrite(const void* data, size_t n) override;

 private:
  std::string data_;
};

// Writes to `<path>.tmp` and renames it over `path` on Commit(), so a failed export never leaves
// a half-written model under the real name.
class FileSink : public ByteSink {
 public:
  static StatusOr<std::unique_ptr<FileSink>> Create(const std::string& path);
  ~FileSink() override;
  // Flushes, closes and renames into place. Must be called for the file to appear.
  Status Commit();

 protected:
  Status DoWrite(const void* data, size_t n) override;

 private:
  FileSink(std::string path, std::FILE* f) : path_(std::move(path)), file_(f) {}
  std::string path_;
  std::FILE* file_;
};

// Reads a whole file into memory (for small files such as tokenizers and test fixtures).
StatusOr<std::string> ReadFileToString(const std::string& path);

// The file name without directories and without its last extension ("a/b/x.bin" -> "x").
std::string FileStem(std::string_view path);

}  // namespace orbitflow
