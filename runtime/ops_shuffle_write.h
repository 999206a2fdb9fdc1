#pragma once
// The map side of a shuffle: sinks that partition records (by key hash, by key range,
// or round-robin), optionally combining values per key first, and write them through a
// ShuffleWriter.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/codec.h"
#include "common/key_hash.h"
#include "runtime/closure.h"
#include "runtime/combine_map.h"
#include "runtime/combine_table.h"
#include "runtime/operator.h"
#include "runtime/shuffle_env.h"
#include "runtime/shuffle_params.h"
#include "runtime/task_memory.h"

namespace kiln::runtime {

// Writes records through a ShuffleWriter; subclasses choose the partition.
template <class T>
class ShuffleSinkBase : public Consumer<T>, public Sink {
 public:
  // The params of every shuffle sink (decoded by ParseParams).
  static std::string EncodeParams(const ShuffleWriteParams& params) {
    std::string out;
    Writer w(&out);
    Encode(w, params);
    return out;
  }

  absl::Status Open(TaskContext& ctx) override {
    ctx_ = &ctx;
    writer_ = ctx.shuffle->NewWriter(
        params_.shuffle_id, ctx.partition, params_.num_partitions,
        WriterMemory{
            .cover = [this](int64_t bytes) { return writer_budget_.Covered(*ctx_, bytes); },
            .release = [this] { writer_budget_.Release(*ctx_); }});
    return absl::OkStatus();
  }
  absl::Status Finish(TaskContext& ctx) override {
    absl::StatusOr<std::vector<int64_t>> sizes = writer_->Commit();
    writer_budget_.Release(ctx);
    if (!sizes.ok()) return sizes.status();
    ctx.partition_sizes = *std::move(sizes);
    ctx.metrics.records_written = writer_->records_written();
    ctx.metrics.shuffle_records_written = writer_->records_written();
    ctx.metrics.shuffle_write_nanos += writer_->write_nanos();
    ctx.metrics.shuffle_bytes_written = writer_->bytes_written();
    ctx.metrics.spill_count += writer_->spill_count();
    ctx.metrics.memory_bytes_spilled += writer_->memory_bytes_spilled();
    ctx.metrics.disk_bytes_spilled += writer_->disk_bytes_spilled();
    return absl::OkStatus();
  }

 protected:
  template <class Op>
  static absl::StatusOr<std::unique_ptr<OpBase>> ParseParams(std::unique_ptr<Op> op,
                                                             std::string_view params) {
    Reader r(params);
    Decode(r, op->params_);
    if (!r.ok() || !r.done() || op->params_.num_partitions <= 0) {
      return absl::DataLossError("corrupt shuffle write parameters");
    }
    return std::unique_ptr<OpBase>(std::move(op));
  }
  absl::Status Write(int partition, const T& record) {
    Writer w(writer_->Buffer(partition));
    Encode(w, record);
    return writer_->Appended(partition);
  }

  ShuffleWriteParams params_;
  std::unique_ptr<ShuffleWriter> writer_;
  TaskContext* ctx_ = nullptr;     // the task's, from Open
  ExecutionBudget writer_budget_;  // the writer's buffers
};

// Partitions pairs by the hash of their key.
template <class K, class V>
class HashShuffleSink final : public ShuffleSinkBase<std::pair<K, V>> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    return HashShuffleSink::ParseParams(std::make_unique<HashShuffleSink>(), p);
  }
  absl::Status Push(std::vector<std::pair<K, V>>& batch) override {
    const uint64_t r = static_cast<uint64_t>(this->params_.num_partitions);
    for (const auto& kv : batch) {
      absl::Status s = this->Write(static_cast<int>(KeyHash<K>()(kv.first) % r), kv);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
};

// partition_by with a user's partitioner: pair (k, v) goes to partition f(k), which
// must be in [0, partitions) (else the task fails, naming the value).
template <class K, class V, class F>
class PartitionerShuffleSink final : public ShuffleSinkBase<std::pair<K, V>> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view c, std::string_view p) {
    auto op = std::make_unique<PartitionerShuffleSink>();
    if (absl::Status s = op->fn.Decode(c); !s.ok()) return s;
    return PartitionerShuffleSink::ParseParams(std::move(op), p);
  }
  absl::Status Push(std::vector<std::pair<K, V>>& batch) override {
    F& f = fn.get();
    const int r = this->params_.num_partitions;
    for (const auto& kv : batch) {
      const auto p = static_cast<int64_t>(f(kv.first));
      if (p < 0 || p >= r) {
        return absl::InvalidArgumentError(
            absl::StrCat("partition_by: the partitioner returned ", p, ", outside [0, ", r, ")"));
      }
      absl::Status s = this->Write(static_cast<int>(p), kv);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  Closure<F> fn;
};

// The map side of reduce_by_key (F: f(V, V) -> V, C = V) and combine_by_key (F:
// CombineFns, into combiners C): combines values per key in a CombineTable, then writes
// one (key, combiner) record per key. The table lives in the task's execution memory:
// when it cannot grow, it is written to the shuffle writer and cleared (the reduce side
// merges partial combines anyway), as Spark's map-side combine spills.
template <class K, class V, class F, class C = V>
class CombineShuffleSink final : public ShuffleSinkBase<std::pair<K, V>> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view c, std::string_view p) {
    auto op = std::make_unique<CombineShuffleSink>();
    absl::Status s = op->fn.Decode(c);
    if (!s.ok()) return s;
    return CombineShuffleSink::ParseParams(std::move(op), p);
  }
  absl::Status Open(TaskContext& ctx) override {
    table_.template Start<CombineShuffleSink>();
    return ShuffleSinkBase<std::pair<K, V>>::Open(ctx);
  }
  absl::Status Push(std::vector<std::pair<K, V>>& batch) override {
    F& f = fn.get();
    if constexpr (kIsCombineFns<F>) {
      heap_bytes_ += table_.Merge(batch, f.create, f.merge_value);
    } else {
      heap_bytes_ += table_.Merge(batch, f);
    }
    if (budget_.Cover(*this->ctx_, table_.Bytes() + heap_bytes_)) return absl::OkStatus();
    absl::Status s = Drain();
    heap_bytes_ = 0;
    budget_.Release(*this->ctx_);
    return s;
  }
  absl::Status Finish(TaskContext& ctx) override {
    absl::Status s = Drain();
    budget_.Release(ctx);
    if (!s.ok()) return s;
    return ShuffleSinkBase<std::pair<K, V>>::Finish(ctx);
  }
  Closure<F> fn;

 private:
  // Writes every key and clears the table. In the table's own order: the reduce side
  // merges each key's values in map-id order and emits in hash order, so the order of
  // keys within a block changes nothing.
  absl::Status Drain() {
    table_.template Learn<CombineShuffleSink>();
    const uint64_t r = static_cast<uint64_t>(this->params_.num_partitions);
    absl::Status s;
    table_.ForEach([&](const K& key, uint64_t hash, C& combiner) {
      if (!s.ok()) return;
      const int partition = static_cast<int>(hash % r);
      Writer w(this->writer_->Buffer(partition));
      Encode(w, key);
      Encode(w, combiner);
      s = this->writer_->Appended(partition);
    });
    table_.Clear();
    return s;
  }

  CombineTable<K, C> table_;
  int64_t heap_bytes_ = 0;  // what the table's keys and combiners own
  ExecutionBudget budget_;
};

// sort_by_key's map side: partition p holds the keys k with bounds[p-1] < k <= bounds[p]
// (ascending) so that the partitions, in order, are sorted.
template <class K, class V>
class RangeShuffleSink final : public ShuffleSinkBase<std::pair<K, V>> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    auto op = std::make_unique<RangeShuffleSink>();
    auto parsed = RangeShuffleSink::ParseParams(std::move(op), p);
    if (!parsed.ok()) return parsed;
    auto* self = dynamic_cast<RangeShuffleSink*>(parsed->get());
    if (!DecodeAll(self->params_.range_bounds, &self->bounds_)) {
      return absl::DataLossError("corrupt range bounds");
    }
    return parsed;
  }
  absl::Status Push(std::vector<std::pair<K, V>>& batch) override {
    const bool asc = this->params_.ascending;
    const int last = this->params_.num_partitions - 1;
    for (const auto& kv : batch) {
      int p = static_cast<int>(std::lower_bound(bounds_.begin(), bounds_.end(), kv.first) -
                               bounds_.begin());
      if (p > last) p = last;
      absl::Status s = this->Write(asc ? p : last - p, kv);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  std::vector<K> bounds_;
};

// repartition's map side: records dealt round-robin, starting at a position derived
// from the map partition (deterministic, so a rerun writes the same output).
template <class T>
class RoundRobinShuffleSink final : public ShuffleSinkBase<T> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    return RoundRobinShuffleSink::ParseParams(std::make_unique<RoundRobinShuffleSink>(), p);
  }
  absl::Status Open(TaskContext& ctx) override {
    next_partition_ = static_cast<int>(MixHash(static_cast<uint64_t>(ctx.partition)) %
                                       static_cast<uint64_t>(this->params_.num_partitions));
    return ShuffleSinkBase<T>::Open(ctx);
  }
  absl::Status Push(std::vector<T>& batch) override {
    const int r = this->params_.num_partitions;
    for (const T& x : batch) {
      absl::Status s = this->Write(next_partition_, x);
      if (!s.ok()) return s;
      if (++next_partition_ == r) next_partition_ = 0;
    }
    return absl::OkStatus();
  }

 private:
  int next_partition_ = 0;
};

}  // namespace kiln::runtime
