#include "model/loader.h"

#include <fmt/format.h>

#include <cstring>

#include "model/gguf_model.h"
#include "model/llama2c.h"
#include "model/mapped_file.h"
#include "model/synthetic.h"

namespace orbitflow {

namespace {

constexpr std::string_view kSyntheticPrefix = "synthetic:";

bool IsGguf(std::span<const std::byte> bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(), "GGUF", 4) == 0;
}

}  // namespace

StatusOr<Model> LoadModel(std::string_view spec) {
  if (spec.starts_with(kSyntheticPrefix)) {
    const std::string_view name = spec.substr(kSyntheticPrefix.size());
    auto shape = LookupModelSpec(name);
    if (!shape.ok()) return shape.status().Annotate(fmt::format("model spec '{}'", spec));
    return MakeSyntheticModel(*shape);
  }
  const std::string path(spec);
  auto file = MappedFile::Open(path);
  if (!file.ok()) {
    if (file.status().code() == StatusCode::kNotFound && LookupModelSpec(spec).ok()) {
      return NotFound(fmt::format("{}: no such file; for generated weights at this shape use 'synthetic:{}'",
                                  spec, spec));
    }
    return file.status();
  }
  const std::span<const std::byte> bytes = (*file)->bytes();
  if (IsGguf(bytes)) return ParseGgufModel(bytes, path);
  return ParseLlama2c(bytes, std::move(file).value(), path);
}

StatusOr<Tokenizer> LoadTokenizer(const std::string& path) {
  OF_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::Open(path));
  if (IsGguf(file->bytes())) {
    OF_ASSIGN_OR_RETURN(GgufFile gguf, GgufFile::Parse(file->bytes(), path));
    return TokenizerFromGgufFile(gguf);
  }
  return ParseLlama2cTokenizer(file->bytes(), path);
}

StatusOr<Tokenizer> TokenizerForModel(const ModelSpec& spec, const std::string& tokenizer_path) {
  if (tokenizer_path.empty()) {
    if (!spec.synthetic) {
      return InvalidArgument(
          fmt::format("model '{}' needs its tokenizer file (llama2.c tokenizer.bin or GGUF)", spec.name));
    }
    return Tokenizer::ByteLevel(spec.vocab_size);
  }
  OF_ASSIGN_OR_RETURN(Tokenizer tok, LoadTokenizer(tokenizer_path));
  if (tok.vocab_size() > spec.vocab_size) {
    return InvalidArgument(fmt::format("{}: the tokenizer has {} tokens, more than model '{}' has ({})",
                                       tokenizer_path, tok.vocab_size(), spec.name, spec.vocab_size));
  }
  return tok;
}

Status ExportModel(const Model& model, const Tokenizer* vocab, ExportFormat format, const std::string& path) {
  return ExportModel(model, vocab, ExportOptions{.format = format}, path);
}

Status ExportModel(const Model& model, const Tokenizer* vocab, const ExportOptions& options,
                   const std::string& path) {
  OF_ASSIGN_OR_RETURN(std::unique_ptr<FileSink> sink, FileSink::Create(path));
  switch (options.format) {
    case ExportFormat::kLlama2c:
      OF_RETURN_IF_ERROR(WriteLlama2c(model, Llama2cVersion::kLegacy, sink.get()));
      break;
    case ExportFormat::kLlama2cV1:
      OF_RETURN_IF_ERROR(WriteLlama2c(model, Llama2cVersion::kV1, sink.get()));
      break;
    case ExportFormat::kGguf:
      OF_RETURN_IF_ERROR(WriteGgufModel(model, vocab, options.gguf_weight_type, sink.get()));
      break;
  }
  return sink->Commit();
}

Status SaveLlama2cTokenizer(const Tokenizer& tokenizer, const std::string& path) {
  OF_ASSIGN_OR_RETURN(std::unique_ptr<FileSink> sink, FileSink::Create(path));
  OF_RETURN_IF_ERROR(WriteLlama2cTokenizer(tokenizer, sink.get()));
  return sink->Commit();
}

}  // namespace orbitflow
