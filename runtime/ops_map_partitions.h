#pragma once
// The operators of map_partitions. The vector form hands the function the whole partition
// in memory; the streaming form (f(kiln::PartitionInput<T>&, kiln::Emit<U>&)) holds the
// partition under the task's execution memory, spilling what does not fit, and streams
// the function's output on.

#include <algorithm>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/codec.h"
#include "common/memory_size.h"
#include "runtime/closure.h"
#include "runtime/emit.h"
#include "runtime/operator.h"
#include "runtime/ops_narrow.h"
#include "runtime/partition_input.h"
#include "runtime/spill_merge.h"
#include "runtime/task_memory.h"

namespace kiln::runtime {

// map_partitions: f(std::vector<T>) -> std::vector<U> over the whole partition.
template <class T, class U, class F>
class MapPartitionsOp final : public Consumer<T>, public Producer<U> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view c, std::string_view) {
    return CreateWithClosure<MapPartitionsOp>(c);
  }
  absl::Status Push(std::vector<T>& batch) override {
    for (T& x : batch) all_.push_back(std::move(x));
    return absl::OkStatus();
  }
  absl::Status Finish(TaskContext& ctx) override {
    std::vector<U> out = fn.get()(std::move(all_));
    for (size_t i = 0; i < out.size(); i += kBatchSize) {
      size_t end = std::min(out.size(), i + kBatchSize);
      std::vector<U> batch(std::make_move_iterator(out.begin() + i),
                           std::make_move_iterator(out.begin() + end));
      absl::Status s = this->next_->Push(batch);
      if (!s.ok()) return s;
    }
    return this->next_->Finish(ctx);
  }
  Closure<F> fn;

 private:
  std::vector<T> all_;
};

// map_partitions, streaming: f(kiln::PartitionInput<T>&, kiln::Emit<U>&) once, after
// the partition's last record; map_partitions_with_index's f(int partition, in, out) is
// told which partition of its dataset that is. The records wait in a buffer covered by the task's
// execution memory; a buffer that cannot grow is written out as a spill run (in order)
// and emptied.
template <class T, class U, class F>
class MapPartitionsStreamOp final : public Transform<T, U> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view c, std::string_view) {
    return CreateWithClosure<MapPartitionsStreamOp>(c);
  }
  absl::Status Open(TaskContext& ctx) override {
    ctx_ = &ctx;
    partition_ = ctx.dataset_partition;  // below a coalesce it changes before Finish
    return absl::OkStatus();
  }
  absl::Status Push(std::vector<T>& batch) override {
    for (T& x : batch) {
      heap_bytes_ += static_cast<int64_t>(MemoryBytes(x) - sizeof(T));
      buffer_.push_back(std::move(x));
    }
    if (budget_.Cover(*ctx_, Bytes())) return absl::OkStatus();
    absl::StatusOr<std::string> run = WriteSpill(*ctx_, Bytes(), [&](SpillWriter& out) {
      for (const T& x : buffer_) {
        Writer w(out.buffer());
        Encode(w, x);
        if (absl::Status s = out.Appended(); !s.ok()) return s;
      }
      return absl::OkStatus();
    });
    if (!run.ok()) return run.status();
    runs_.push_back(*std::move(run));
    std::vector<T>().swap(buffer_);
    heap_bytes_ = 0;
    budget_.Release(*ctx_);
    return absl::OkStatus();
  }
  absl::Status Finish(TaskContext& ctx) override {
    absl::Status s;
    {
      PartitionInput<T> in(runs_, std::move(buffer_));  // runs_ kept: removed below
      Emit<U> emit(&this->out_);
      if constexpr (std::is_invocable_v<F&, int, PartitionInput<T>&, Emit<U>&>) {
        fn.get()(partition_, in, emit);
      } else {
        fn.get()(in, emit);
      }
      s = !in.status().ok() ? in.status() : emit.status();
    }
    for (const std::string& run : runs_) ctx.spills->Remove(run);
    budget_.Release(ctx);
    if (!s.ok()) return s;
    return Transform<T, U>::Finish(ctx);
  }
  Closure<F> fn;

 private:
  int64_t Bytes() const {
    return static_cast<int64_t>(buffer_.capacity() * sizeof(T)) + heap_bytes_;
  }

  TaskContext* ctx_ = nullptr;
  int partition_ = 0;
  std::vector<T> buffer_;
  int64_t heap_bytes_ = 0;
  std::vector<std::string> runs_;
  ExecutionBudget budget_;
};

}  // namespace kiln::runtime
