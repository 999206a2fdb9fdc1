#pragma once
// The executor side of a fused task pipeline: type-erased operators linked into a
// chain source -> narrow ops -> sink, moving records in batches (one virtual call per
// batch, never per record).
//
// Operators are templates instantiated in the user's binary (driver/dataset.h creates
// them); each concrete operator type registers a factory under its mangled type name
// (see op_registry.h), so an executor running the same binary can rebuild it from an
// OpSpec. Operators are single-threaded: one instance belongs to one task.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "absl/status/status.h"
#include "runtime/task_metrics.h"

namespace kiln::runtime {

class BlockStore;
class ShuffleEnv;
class SpillSpace;
class TaskMemory;

// Records per batch: large enough to amortize the per-batch virtual call, small enough
// to stay in cache.
inline constexpr size_t kBatchSize = 1024;
// Where records are decoded (shuffle reads, cached blocks on disk), a batch also ends at
// this many encoded bytes: 1,024 records of 10 KB were 10 MB, written to memory by the
// decoder and read back from it by the next operator (a 200x200 shuffle read of 10 KB
// records ran 2.4x faster with this bound).
inline constexpr size_t kBatchBytes = 256 << 10;

// A cached block that a task stored on, or evicted from, its executor.
struct BlockUpdate {
  int dataset = 0;  // the persisted dataset (plan node id)
  int partition = 0;
  bool stored = false;  // false: evicted (and not kept on disk)
  bool disk = false;    // stored on the executor's disk
  int64_t bytes = 0;    // when stored
};

// Everything one task attempt sees and produces. Not thread-safe (one per task).
class RunningTasks;

struct TaskContext {
  int64_t task_id = 0;
  int stage_id = 0;
  int partition = 0;
  int attempt = 0;
  ShuffleEnv* shuffle = nullptr;
  BlockStore* blocks = nullptr;     // this executor's cached partitions
  TaskMemory* memory = nullptr;     // this task's execution memory
  SpillSpace* spills = nullptr;     // where its operators spill
  RunningTasks* running = nullptr;  // where its spill figures are published as they grow
  // The partition of the datasets computed by the operators being opened (differs
  // from `partition` below a coalesce).
  int dataset_partition = 0;

  // Outputs.
  std::string result;                    // result tasks: encoded result
  std::vector<int64_t> partition_sizes;  // shuffle map tasks: bytes per reduce partition
  TaskMetrics metrics;
  std::vector<BlockUpdate> block_updates;  // cached blocks stored or evicted
};

class OpBase {
 public:
  virtual ~OpBase() = default;
  // Called once before any record flows, after linking.
  virtual absl::Status Open(TaskContext& ctx) { return absl::OkStatus(); }
  // Links this operator's output to `next`. Fails when the record types differ (a bug).
  virtual absl::Status LinkTo(OpBase* next) {
    return absl::InternalError("operator has no output");
  }
};

// Takes batches of T.
template <class T>
class Consumer : public virtual OpBase {
 public:
  // `batch` is owned by the caller, who clears it afterwards; the consumer may move
  // elements out of it.
  virtual absl::Status Push(std::vector<T>& batch) = 0;
  // End of input: flush, write results.
  virtual absl::Status Finish(TaskContext& ctx) = 0;
};

// Emits batches of Out to the next operator.
template <class Out>
class Producer : public virtual OpBase {
 public:
  absl::Status LinkTo(OpBase* next) override {
    next_ = dynamic_cast<Consumer<Out>*>(next);
    if (next_ == nullptr) {
      return absl::InternalError(std::string("operator chain type mismatch: next operator does "
                                             "not consume ") +
                                 typeid(Out).name());
    }
    return absl::OkStatus();
  }

 protected:
  Consumer<Out>* next_ = nullptr;
};

// The first operator of a chain: reads one split (a parallelize slice, a file range,
// a reduce partition) and pushes its records to the next operator.
// A coalesced task runs one source on several splits, then ends its output once.
class Source : public virtual OpBase {
 public:
  virtual absl::Status Run(TaskContext& ctx, std::string_view split) = 0;
  // After the last split: finishes the rest of the chain.
  virtual absl::Status EndOutput(TaskContext& ctx) = 0;
};

template <class Out>
class SourceOf : public Source, public Producer<Out> {
 public:
  absl::Status EndOutput(TaskContext& ctx) override { return this->next_->Finish(ctx); }
};

// A Consumer whose Finish is also the end of the task (result or shuffle sink).
class Sink : public virtual OpBase {};

// True when the driver asked the task running on this thread to stop (KillTasks: another
// attempt won). Operators check it between batches of records, so a killed task stops
// within one batch; a task thread outside RunTask is never killed.
bool TaskKilled();
// Sets the flag TaskKilled() reads on this thread; null = none (RunTask sets and clears it).
void SetTaskKillFlag(const std::atomic<bool>* flag);
inline absl::Status CheckNotKilled() {
  return TaskKilled() ? absl::CancelledError("task attempt killed by the driver")
                      : absl::OkStatus();
}

// Collects records of Out and pushes them downstream one batch at a time; reusable
// across batches without reallocating its vector.
//
// EmitSwap recycles records' memory: it swaps the caller's record into the batch and
// hands back one the consumer of an earlier batch has done with (a string keeps its
// buffer), so that a caller that decodes into the same variable again and again
// allocates nothing per record. A consumer that moves records out leaves nothing to
// recycle, and then EmitSwap costs what Emit(std::move(value)) does.
template <class Out>
class BatchEmitter {
 public:
  explicit BatchEmitter(Consumer<Out>** next) : next_(next) { batch_.reserve(kBatchSize); }

  template <class U>
  absl::Status Emit(U&& value) {
    return Emplace(std::forward<U>(value));
  }
  template <class... Args>
  absl::Status Emplace(Args&&... args) {
    batch_.emplace_back(std::forward<Args>(args)...);
    if (batch_.size() >= kBatchSize) return Flush();
    return absl::OkStatus();
  }
  absl::Status EmitSwap(Out& value, size_t bytes = 0) {
    if (next_spare_ < spare_.size()) {
      batch_.push_back(std::move(spare_[next_spare_++]));
    } else {
      batch_.emplace_back();
    }
    using std::swap;
    swap(batch_.back(), value);
    recycle_ = true;
    bytes_ += bytes;
    if (batch_.size() >= kBatchSize || bytes_ >= kBatchBytes) return Flush();
    return absl::OkStatus();
  }
  absl::Status Flush() {
    if (batch_.empty()) return absl::OkStatus();
    if (absl::Status killed = CheckNotKilled(); !killed.ok()) return killed;
    absl::Status s = (*next_)->Push(batch_);
    bytes_ = 0;
    if (recycle_) {
      // The records pushed are the next ones EmitSwap hands back; the spares it did not
      // use (moved-from) go.
      spare_.clear();
      spare_.swap(batch_);
      next_spare_ = 0;
    } else {
      batch_.clear();
    }
    return s;
  }
  std::vector<Out>& batch() { return batch_; }

 private:
  Consumer<Out>** next_;
  std::vector<Out> batch_;
  std::vector<Out> spare_;  // records of the last batch pushed, for EmitSwap
  size_t next_spare_ = 0;
  size_t bytes_ = 0;  // of the records in batch_, as EmitSwap's callers count them
  bool recycle_ = false;
};

}  // namespace kiln::runtime
