#include "model/binary_io.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace orbitflow {

Status ByteReader::Read(void* dst, size_t n, std::string_view field) {
  OF_ASSIGN_OR_RETURN(std::span<const std::byte> bytes, Take(n, field));
  if (n > 0) std::memcpy(dst, bytes.data(), n);
  return Status::Ok();
}

StatusOr<std::span<const std::byte>> ByteReader::Take(size_t n, std::string_view field) {
  if (n > remaining()) {
    return DataLoss(fmt::format("{}: truncated reading {} at byte {} (needs {} bytes, {} left)", source_,
                                field, pos_, n, remaining()));
  }
  std::span<const std::byte> out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

Status ByteReader::Skip(size_t n, std::string_view field) {
  return Take(n, field).status();
}

Status ByteReader::Seek(size_t offset, std::string_view field) {
  if (offset > data_.size()) {
    return DataLoss(fmt::format("{}: {} points to byte {}, past the end of the {}-byte file", source_, field,
                                offset, data_.size()));
  }
  pos_ = offset;
  return Status::Ok();
}

Status ByteReader::Corrupt(std::string_view what) const {
  return DataLoss(fmt::format("{}: {} at byte {}", source_, what, pos_));
}

Status ByteSink::Write(const void* data, size_t n) {
  if (n == 0) return Status::Ok();
  OF_RETURN_IF_ERROR(DoWrite(data, n));
  written_ += n;
  return Status::Ok();
}

Status ByteSink::PadTo(size_t alignment) {
  static constexpr char kZeros[64] = {};
  while (written_ % alignment != 0) {
    const size_t n = std::min<size_t>(sizeof(kZeros), alignment - written_ % alignment);
    OF_RETURN_IF_ERROR(Write(kZeros, n));
  }
  return Status::Ok();
}

Status StringSink::DoWrite(const void* data, size_t n) {
  data_.append(static_cast<const char*>(data), n);
  return Status::Ok();
}

StatusOr<std::unique_ptr<FileSink>> FileSink::Create(const std::string& path) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    return InvalidArgument(fmt::format("cannot create {}: {}", tmp, std::strerror(errno)));
  }
  // Large stdio buffer: models are written in many small pieces (per-layer tensors, padding).
  std::setvbuf(f, nullptr, _IOFBF, 1 << 20);
  return std::unique_ptr<FileSink>(new FileSink(path, f));
}

FileSink::~FileSink() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove((path_ + ".tmp").c_str());
  }
}

Status FileSink::DoWrite(const void* data, size_t n) {
  if (file_ == nullptr) return FailedPrecondition(fmt::format("{}: write after commit", path_));
  if (std::fwrite(data, 1, n, file_) != n) {
    return Unavailable(fmt::format("writing {}: {}", path_, std::strerror(errno)));
  }
  return Status::Ok();
}

Status FileSink::Commit() {
  if (file_ == nullptr) return FailedPrecondition(fmt::format("{}: committed twice", path_));
  const std::string tmp = path_ + ".tmp";
  const bool flushed = std::fflush(file_) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!flushed || !closed) {
    std::remove(tmp.c_str());
    return Unavailable(fmt::format("writing {}: {}", path_, std::strerror(errno)));
  }
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Unavailable(fmt::format("renaming {} to {}: {}", tmp, path_, std::strerror(errno)));
  }
  return Status::Ok();
}

StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return DataLoss(fmt::format("reading {} failed", path));
  return ss.str();
}

std::string FileStem(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = name.find_last_of('.');
  if (dot != std::string_view::npos && dot > 0) name = name.substr(0, dot);
  return std::string(name);
}

}  // namespace orbitflow
