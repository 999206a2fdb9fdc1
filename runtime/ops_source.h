#pragma once
// Sources that read input data: parallelize()d records and text files.

#include <memory>
#include <string>
#include <string_view>
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
  static std::string EncodeSplit(const FileSplit& split) {
    std::string out;
    Writer w(&out);
    Encode(w, split.path);
    Encode(w, split.start);
    Encode(w, split.length);
    Encode(w, split.file_size);
    return out;
  }
  absl::Status Run(TaskContext& ctx, std::string_view encoded) override {
    FileSplit split;
    Reader r(encoded);
    Decode(r, split.path);
    Decode(r, split.start);
    Decode(r, split.length);
    Decode(r, split.file_size);
    if (!r.ok()) return absl::DataLossError("corrupt text file split");
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

}  // namespace kiln::runtime
