// A read-only memory map of a whole file. Loaders keep it alive (through
// TransformerWeights::keepalive) when weight views point straight into it, as llama2.c does.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "orbitflow/status.h"

namespace orbitflow {

class MappedFile {
 public:
  // NotFound when the file does not exist; InvalidArgument when it is not a regular file.
  static StatusOr<std::shared_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, const std::byte* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const std::byte* data_;  // nullptr for an empty file
  size_t size_;
};

}  // namespace orbitflow
