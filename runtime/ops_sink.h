#pragma once
// Result sinks: the last operator of a result stage's task. Each leaves its encoded
// per-partition result in TaskContext::result for the driver to merge.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/codec.h"
#include "common/files.h"
#include "common/strings.h"
#include "runtime/attempt_file.h"
#include "runtime/closure.h"
#include "runtime/operator.h"
#include "runtime/text_codec.h"
#include "runtime/to_text.h"

namespace kiln::runtime {

// collect(): every record, encoded as a vector<T>.
template <class T>
class CollectSink final : public Consumer<T>, public Sink {
 public:
  // take(n): keep at most `limit` records (no params: every record).
  static std::string EncodeParams(uint64_t limit) {
    std::string params;
    Writer(&params).PutVarint(limit);
    return params;
  }
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view params) {
    auto op = std::make_unique<CollectSink>();
    if (!params.empty()) {
      Reader r(params);
      op->limit_ = r.GetVarint();
      if (!r.ok()) return absl::DataLossError("collect: corrupt parameters");
    }
    return std::unique_ptr<OpBase>(std::move(op));
  }
  absl::Status Push(std::vector<T>& batch) override {
    Writer w(&body_);
    for (const T& x : batch) {
      if (count_ >= limit_) break;
      Encode(w, x);
      ++count_;
    }
    return absl::OkStatus();
  }
  absl::Status Finish(TaskContext& ctx) override {
    Writer w(&ctx.result);
    w.PutVarint(count_);
    w.PutBytes(body_.data(), body_.size());
    ctx.metrics.records_written = static_cast<int64_t>(count_);
    return absl::OkStatus();
  }
  // A partition's result: its records (replacing `records`' content).
  static bool DecodeResult(std::string_view result, std::vector<T>* records) {
    records->clear();
    return DecodeAll(result, records);
  }

 private:
  std::string body_;
  uint64_t count_ = 0;
  uint64_t limit_ = UINT64_MAX;
};

// count(): the number of records, as a varint.
template <class T>
class CountSink final : public Consumer<T>, public Sink {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view) {
    return std::unique_ptr<OpBase>(std::make_unique<CountSink>());
  }
  absl::Status Push(std::vector<T>& batch) override {
    count_ += batch.size();
    return absl::OkStatus();
  }
  absl::Status Finish(TaskContext& ctx) override {
    Writer(&ctx.result).PutVarint(count_);
    return absl::OkStatus();
  }
  // A partition's result: its record count.
  static bool DecodeResult(std::string_view result, uint64_t* count) {
    Reader r(result);
    *count = r.GetVarint();
    return r.ok() && r.done();
  }

 private:
  uint64_t count_ = 0;
};

// reduce(f): the partition's fold, as an encoded optional<T> (empty partitions: none).
template <class T, class F>
class ReduceSink final : public Consumer<T>, public Sink {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view c, std::string_view) {
    auto op = std::make_unique<ReduceSink>();
    absl::Status s = op->fn.Decode(c);
    if (!s.ok()) return s;
    return std::unique_ptr<OpBase>(std::move(op));
  }
  absl::Status Push(std::vector<T>& batch) override {
    F& f = fn.get();
    for (T& x : batch) {
      if (acc_) {
        acc_ = f(std::move(*acc_), std::move(x));
      } else {
        acc_ = std::move(x);
      }
    }
    return absl::OkStatus();
  }
  absl::Status Finish(TaskContext& ctx) override {
    Writer w(&ctx.result);
    Encode(w, acc_);
    return absl::OkStatus();
  }
  // A partition's result: its fold, or none for an empty partition.
  static bool DecodeResult(std::string_view result, std::optional<T>* fold) {
    Reader r(result);
    Decode(r, *fold);
    return r.ok() && r.done();
  }
  Closure<F> fn;

 private:
  std::optional<T> acc_;
};

// foreach(f): runs f on every record on the executors; no result.
template <class T, class F>
class ForeachSink final : public Consumer<T>, public Sink {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view c, std::string_view) {
    auto op = std::make_unique<ForeachSink>();
    absl::Status s = op->fn.Decode(c);
    if (!s.ok()) return s;
    return std::unique_ptr<OpBase>(std::move(op));
  }
  absl::Status Push(std::vector<T>& batch) override {
    for (const T& x : batch) fn.get()(x);
    return absl::OkStatus();
  }
  absl::Status Finish(TaskContext&) override { return absl::OkStatus(); }
  Closure<F> fn;
};

// A deterministic sample of the keys of a pair dataset, for sort_by_key's range
// bounds: a uniform reservoir sample seeded by the partition index. Once the reservoir
// is full, the number of records to pass over before the next one kept is drawn at once
// (Li's Algorithm L), so that a record not kept costs no random number: drawing one per
// record took 15 ns in a microbenchmark, 0.3 s of CPU over the 2 GB sort's 20M records.
template <class K, class V>
class KeySampleSink final : public Consumer<std::pair<K, V>>, public Sink {
 public:
  // Keep up to `size` keys of each partition.
  static std::string EncodeParams(uint64_t size) {
    std::string params;
    Writer(&params).PutVarint(size);
    return params;
  }
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view params) {
    auto op = std::make_unique<KeySampleSink>();
    Reader r(params);
    op->size_ = r.GetVarint();
    if (!r.ok()) return absl::DataLossError("key sample: corrupt parameters");
    return std::unique_ptr<OpBase>(std::move(op));
  }
  // A partition's result: how many records it held, and the sampled keys.
  static bool DecodeResult(std::string_view result, uint64_t* seen, std::vector<K>* keys) {
    Reader r(result);
    *seen = r.GetVarint();
    Decode(r, *keys);
    return r.ok() && r.done();
  }
  absl::Status Open(TaskContext& ctx) override {
    rng_.seed(static_cast<uint64_t>(ctx.partition) * 0x9e3779b97f4a7c15ULL + 1);
    return absl::OkStatus();
  }
  absl::Status Push(std::vector<std::pair<K, V>>& batch) override {
    const size_t n = batch.size();
    seen_ += n;
    if (size_ == 0) return absl::OkStatus();
    size_t i = 0;
    for (; i < n && sample_.size() < size_; ++i) {
      sample_.push_back(std::move(batch[i].first));
      if (sample_.size() == size_) DrawSkip();
    }
    while (i < n) {
      if (skip_ >= n - i) {  // nothing more of this batch is kept
        skip_ -= n - i;
        break;
      }
      i += skip_;
      sample_[Below(size_)] = std::move(batch[i].first);
      ++i;
      DrawSkip();
    }
    return absl::OkStatus();
  }
  absl::Status Finish(TaskContext& ctx) override {
    Writer w(&ctx.result);
    w.PutVarint(seen_);
    Encode(w, sample_);
    return absl::OkStatus();
  }

 private:
  // Uniform in (0, 1].
  double Unit() { return static_cast<double>((rng_() >> 11) + 1) * 0x1.0p-53; }
  uint64_t Below(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  // Algorithm L's step: the largest of the reservoir's random tags shrinks by a factor,
  // and the gap before the next record whose tag is smaller follows from it.
  void DrawSkip() {
    weight_ *= std::exp(std::log(Unit()) / static_cast<double>(size_));
    const double gap = std::floor(std::log(Unit()) / std::log1p(-weight_));
    skip_ = gap < 1e18 ? static_cast<uint64_t>(gap) : UINT64_MAX / 2;
  }

  uint64_t size_ = 0;
  uint64_t seen_ = 0;
  std::vector<K> sample_;
  std::mt19937_64 rng_;
  double weight_ = 1.0;  // Algorithm L's W
  uint64_t skip_ = 0;    // records to pass over before the next one kept
};

// save_as_text_file(dir): one line per record (kiln::ToText) into the task attempt's
// file (see AttemptFile, which commits it), compressed if asked.
template <class T>
class SaveTextSink final : public Consumer<T>, public Sink {
 public:
  static_assert(HasToText<T>,
                "kiln: save_as_text_file needs kiln::ToText<T> for this record type (or map "
                "the records to std::string first)");
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view params) {
    auto op = std::make_unique<SaveTextSink>();
    Reader r(params);
    op->dir_ = std::string(r.GetLengthPrefixed());
    op->compression_ = static_cast<TextCompression>(r.GetVarint());
    if (!r.ok() || !r.done() || op->compression_ > TextCompression::kZstd) {
      return absl::InvalidArgumentError("corrupt save_as_text_file parameters");
    }
    return std::unique_ptr<OpBase>(std::move(op));
  }
  static std::string EncodeParams(std::string_view dir, TextCompression compression) {
    std::string out;
    Writer w(&out);
    w.PutLengthPrefixed(dir);
    w.PutVarint(static_cast<uint64_t>(compression));
    return out;
  }
  absl::Status Open(TaskContext& ctx) override {
    buffer_.reserve(kFlushBytes + 4096);
    absl::Status s = file_.Open(dir_, ctx, CompressionExtension(compression_));
    if (!s.ok() || compression_ == TextCompression::kNone) return s;
    absl::StatusOr<std::unique_ptr<Compressor>> c = Compressor::Make(compression_, file_.path());
    if (!c.ok()) return c.status();
    compressor_ = *std::move(c);
    return absl::OkStatus();
  }
  absl::Status Push(std::vector<T>& batch) override {
    for (const T& x : batch) {
      ToText<T>::Append(buffer_, x);
      buffer_.push_back('\n');
    }
    records_ += batch.size();
    if (buffer_.size() >= kFlushBytes) return Flush();
    return absl::OkStatus();
  }
  absl::Status Finish(TaskContext& ctx) override {
    absl::Status s = Flush(/*last=*/true);
    if (s.ok()) s = file_.Close(ctx);
    if (!s.ok()) return s;
    ctx.metrics.records_written = static_cast<int64_t>(records_);
    ctx.metrics.output_records = static_cast<int64_t>(records_);
    return absl::OkStatus();
  }

 private:
  static constexpr size_t kFlushBytes = 1 << 20;

  // Writes the buffered text, compressed if asked; `last` ends the compressed stream.
  absl::Status Flush(bool last = false) {
    std::string_view out = buffer_;
    if (compressor_ != nullptr) {
      compressed_.clear();
      absl::Status s = compressor_->Compress(buffer_, &compressed_);
      if (s.ok() && last) s = compressor_->Finish(&compressed_);
      if (!s.ok()) return s;
      out = compressed_;
    }
    absl::Status s = file_.Write(out);
    buffer_.clear();
    return s;
  }

  std::string dir_, buffer_, compressed_;
  TextCompression compression_ = TextCompression::kNone;
  std::unique_ptr<Compressor> compressor_;
  AttemptFile file_;
  uint64_t records_ = 0;
};

}  // namespace kiln::runtime
