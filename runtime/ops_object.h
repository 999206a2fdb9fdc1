#pragma once
// save_as_object_file's sink and object_file's source: records of T in Kiln's binary
// codec, in the checksummed blocks of runtime/object_file.h.

#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/codec.h"
#include "common/strings.h"
#include "runtime/attempt_file.h"
#include "runtime/object_file.h"
#include "runtime/operator.h"
#include "runtime/text_input.h"

namespace kiln::runtime {

// Each task attempt writes its file under the output's _temporary/ (see AttemptFile).
template <class T>
class SaveObjectSink final : public Consumer<T>, public Sink {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view params) {
    auto op = std::make_unique<SaveObjectSink>();
    op->dir_ = std::string(params);
    return std::unique_ptr<OpBase>(std::move(op));
  }
  absl::Status Open(TaskContext& ctx) override {
    absl::Status s = file_.Open(dir_, ctx, "");
    if (!s.ok()) return s;
    payload_.reserve(kBlockBytes + 4096);
    return file_.Write(ObjectFileHeader(typeid(T).name(), &sync_));
  }
  absl::Status Push(std::vector<T>& batch) override {
    Writer w(&payload_);
    for (const T& x : batch) {
      Encode(w, x);
      ++in_block_;
      if (payload_.size() >= kBlockBytes) {
        absl::Status s = WriteBlock();
        if (!s.ok()) return s;
      }
    }
    records_ += static_cast<int64_t>(batch.size());
    return absl::OkStatus();
  }
  absl::Status Finish(TaskContext& ctx) override {
    absl::Status s = WriteBlock();
    if (s.ok()) s = file_.Close(ctx);
    if (!s.ok()) return s;
    ctx.metrics.records_written = records_;
    ctx.metrics.output_records = records_;
    return absl::OkStatus();
  }

 private:
  static constexpr size_t kBlockBytes = 64 << 10;

  absl::Status WriteBlock() {
    if (in_block_ == 0) return absl::OkStatus();
    block_.clear();
    AppendObjectBlock(sync_, payload_, in_block_, &block_);
    payload_.clear();
    in_block_ = 0;
    return file_.Write(block_);
  }

  std::string dir_, payload_, block_;
  SyncMarker sync_{};
  uint32_t in_block_ = 0;
  int64_t records_ = 0;
  AttemptFile file_;
};

template <class T>
class ObjectFileSource final : public SourceOf<T> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view) {
    return std::unique_ptr<OpBase>(std::make_unique<ObjectFileSource>());
  }
  absl::Status Run(TaskContext& ctx, std::string_view encoded) override {
    FileSplit split;
    if (!DecodeFileSplit(encoded, &split)) return absl::DataLossError("corrupt object file split");
    ObjectBlockReader reader;
    absl::Status s = reader.Open(split, typeid(T).name());
    std::vector<T> batch;
    std::string_view payload;
    uint32_t records = 0;
    while (s.ok() && reader.Next(&payload, &records)) {
      Reader r(payload);
      batch.clear();
      batch.reserve(records);
      for (uint32_t i = 0; i < records && r.ok(); ++i) {
        T x{};
        Decode(r, x);
        batch.push_back(std::move(x));
      }
      if (!r.ok() || !r.done()) {
        return absl::DataLossError(StrCat("object file ", split.path,
                                          ": a block's records do not decode as the type asked"));
      }
      ctx.metrics.records_read += records;
      s = CheckNotKilled();
      if (s.ok()) s = this->next_->Push(batch);
    }
    if (s.ok()) s = reader.status();
    ctx.metrics.input_bytes += reader.bytes_read();
    ctx.metrics.input_read_nanos += reader.read_nanos();
    return s;
  }
};

}  // namespace kiln::runtime
