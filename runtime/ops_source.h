#pragma once
// Sources that read input data: parallelize()d records and text files.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/codec.h"
#include "runtime/operator.h"
#include "runtime/text_input.h"

namespace kiln::runtime {

// parallelize(): the split is the slice's records, encoded by the driver.
template <class T>
class ParallelizeSource final : public SourceOf<T> {
 public:
  // The split of one slice: the records [begin, end).
  template <class It>
  static std::string EncodeSplit(It begin, It end) {
    std::string split;
    Writer w(&split);
    w.PutVarint(static_cast<uint64_t>(end - begin));
    for (It it = begin; it != end; ++it) Encode(w, static_cast<const T&>(*it));
    return split;
  }
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view) {
    return std::unique_ptr<OpBase>(std::make_unique<ParallelizeSource>());
  }
  absl::Status Run(TaskContext& ctx, std::string_view split) override {
    Reader r(split);
    uint64_t n = r.GetVarint();
    std::vector<T> batch;
    batch.reserve(std::min<uint64_t>(n, kBatchSize));
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      batch.emplace_back();
      Decode(r, batch.back());
      if (batch.size() == kBatchSize) {
        absl::Status s = CheckNotKilled();
        if (s.ok()) s = this->next_->Push(batch);
        batch.clear();
        if (!s.ok()) return s;
      }
    }
    if (!r.ok()) return absl::DataLossError("corrupt parallelize split");
    ctx.metrics.records_read += static_cast<int64_t>(n);
    ctx.metrics.input_bytes += static_cast<int64_t>(split.size());
    if (batch.empty()) return absl::OkStatus();
    return this->next_->Push(batch);
  }
};

// text_file(): the split is an encoded file range; each line becomes a std::string.
// The batch's strings are reused, so their capacity is reused from batch to batch
// unless a later operator moves them out.
class TextFileSource final : public SourceOf<std::string> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view) {
    return std::unique_ptr<OpBase>(std::make_unique<TextFileSource>());
  }
  absl::Status Run(TaskContext& ctx, std::string_view encoded) override {
    FileSplit split;
    if (!DecodeFileSplit(encoded, &split)) return absl::DataLossError("corrupt text file split");
    absl::Status s = reader_.Open(split);
    if (!s.ok()) return s;
    std::vector<std::string> batch(kBatchSize);
    size_t n = 0;
    std::string_view line;
    int64_t lines = 0;
    while (reader_.Next(&line)) {
      batch[n].assign(line.data(), line.size());
      ++lines;
      if (++n == kBatchSize) {
        s = CheckNotKilled();
        if (s.ok()) s = this->next_->Push(batch);
        if (!s.ok()) return s;
        batch.resize(kBatchSize);  // a consumer may have shrunk it (filter)
        n = 0;
      }
    }
    if (!reader_.status().ok()) return reader_.status();
    ctx.metrics.records_read += lines;
    ctx.metrics.input_bytes += reader_.bytes_read();
    ctx.metrics.input_read_nanos += reader_.read_nanos();
    if (n == 0) return absl::OkStatus();
    batch.resize(n);
    return this->next_->Push(batch);
  }

 private:
  LineReader reader_;
};

// whole_text_files(): the split is a list of files; each becomes one (path, text)
// record, decompressed as its name says.
class WholeTextFilesSource final : public SourceOf<std::pair<std::string, std::string>> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view) {
    return std::unique_ptr<OpBase>(std::make_unique<WholeTextFilesSource>());
  }
  static std::string EncodeSplit(const std::vector<std::string>& paths) {
    std::string out;
    Writer w(&out);
    Encode(w, paths);
    return out;
  }
  absl::Status Run(TaskContext& ctx, std::string_view encoded) override {
    std::vector<std::string> paths;
    Reader r(encoded);
    Decode(r, paths);
    if (!r.ok()) return absl::DataLossError("corrupt whole_text_files split");
    for (std::string& path : paths) {
      absl::Status s = CheckNotKilled();
      if (!s.ok()) return s;
      absl::StatusOr<std::string> text =
          ReadWholeText(path, &ctx.metrics.input_bytes, &ctx.metrics.input_read_nanos);
      if (!text.ok()) return text.status();
      std::vector<std::pair<std::string, std::string>> batch;
      batch.emplace_back(std::move(path), *std::move(text));
      ++ctx.metrics.records_read;
      s = this->next_->Push(batch);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
};

}  // namespace kiln::runtime
