#pragma once
// Spilling for operators: writing a sorted run of records to a spill file of the task
// (spill.h), and merging runs (and what is still in memory) back in order with a k-way
// merge that is stable: records that compare equal come out in the order of their
// sources, so runs listed in the order they were written, then memory, reproduce the
// order an operator working in memory alone would produce.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/codec.h"
#include "runtime/operator.h"
#include "runtime/spill.h"

namespace kiln::runtime {

// Writes one run with `write` (which encodes records into the writer), counts it in the
// task's spill metrics (`memory_bytes`: what the records held in memory) and returns
// the file's path. A write error fails the task naming the spill directory.
absl::StatusOr<std::string> WriteSpill(TaskContext& ctx, int64_t memory_bytes,
                                       absl::FunctionRef<absl::Status(SpillWriter&)> write);

// The most runs one merge reads at once (open files, read buffers): past it, the oldest
// runs are merged into one first.
inline constexpr size_t kMaxMergeWidth = 64;

// While `runs` (oldest first) are more than kMaxMergeWidth, replaces the oldest
// kMaxMergeWidth with one run that `merge(those runs, writer)` writes, and removes them.
absl::Status NarrowRuns(
    TaskContext& ctx, std::vector<std::string>& runs,
    absl::FunctionRef<absl::Status(const std::vector<std::string>&, SpillWriter&)> merge);

// A source of records in order, one at a time: a run on disk or records in memory.
// A hashed cursor also carries each record's key hash (stored with it in the run).
template <class T>
class RecordCursor {
 public:
  virtual ~RecordCursor() = default;
  // Moves to the next record (the first, on the first call); done() after the last.
  virtual absl::Status Advance() = 0;
  bool done() const { return done_; }
  T& record() { return record_; }
  uint64_t hash() const { return hash_; }

 protected:
  T record_{};
  uint64_t hash_ = 0;
  bool done_ = false;
};

// Encodes a pair of a hashed run: its key's hash (8 bytes), then the key and the value.
template <class K, class V>
void EncodeHashed(Writer& w, uint64_t hash, const K& key, const V& value) {
  w.PutBytes(&hash, sizeof(hash));
  Encode(w, key);
  Encode(w, value);
}

// The records of one spill file. With `kHashed`, each is preceded by its hash.
template <class T, bool kHashed = false>
class RunCursor final : public RecordCursor<T> {
 public:
  explicit RunCursor(std::string path) : reader_(std::move(path)) {}
  absl::Status Open() {
    absl::Status s = reader_.Open();
    return s.ok() ? Advance() : s;
  }
  absl::Status Advance() override {
    while (in_.done()) {
      std::string_view frame;
      absl::StatusOr<bool> more = reader_.Next(&frame);
      if (!more.ok()) return more.status();
      if (!*more) {
        this->done_ = true;
        return absl::OkStatus();
      }
      in_ = Reader(frame);
    }
    if constexpr (kHashed) {
      std::string_view h = in_.GetBytes(sizeof(uint64_t));
      if (h.size() == sizeof(uint64_t)) std::memcpy(&this->hash_, h.data(), sizeof(uint64_t));
    }
    Decode(in_, this->record_);
    if (!in_.ok()) return absl::DataLossError("corrupt record in a spill file");
    return absl::OkStatus();
  }

 private:
  SpillReader reader_;
  Reader in_;
};

// Records in memory, handed out by `next(T* record, uint64_t* hash)` (false at the end;
// it may move the record out of its container).
template <class T, class Next>
class MemoryCursor final : public RecordCursor<T> {
 public:
  explicit MemoryCursor(Next next) : next_(std::move(next)) {}
  absl::Status Advance() override {
    this->done_ = !next_(&this->record_, &this->hash_);
    return absl::OkStatus();
  }

 private:
  Next next_;
};

template <class T, class Next>
std::unique_ptr<RecordCursor<T>> MakeMemoryCursor(Next next) {
  return std::make_unique<MemoryCursor<T, Next>>(std::move(next));
}

// Opens a cursor for each run, in order, and appends them to `cursors`.
template <class T, bool kHashed>
absl::Status OpenRuns(const std::vector<std::string>& runs,
                      std::vector<std::unique_ptr<RecordCursor<T>>>* cursors) {
  for (const std::string& path : runs) {
    auto cursor = std::make_unique<RunCursor<T, kHashed>>(path);
    absl::Status s = cursor->Open();
    if (!s.ok()) return s;
    cursors->push_back(std::move(cursor));
  }
  return absl::OkStatus();
}

// Merges the cursors (each already advanced to its first record) in the order
// `less(const RecordCursor&, const RecordCursor&)`; equal records come out in cursor
// order. `emit(RecordCursor&)` takes the smallest record (and may move it).
template <class T, class Less, class Emit>
absl::Status MergeCursors(std::vector<std::unique_ptr<RecordCursor<T>>>& cursors, Less less,
                          Emit emit) {
  // A min-heap of cursor indices: std heaps put the greatest first, so "greater" orders it.
  auto after = [&](size_t a, size_t b) {
    if (less(*cursors[b], *cursors[a])) return true;
    if (less(*cursors[a], *cursors[b])) return false;
    return a > b;
  };
  std::vector<size_t> heap;
  for (size_t i = 0; i < cursors.size(); ++i) {
    if (!cursors[i]->done()) heap.push_back(i);
  }
  std::make_heap(heap.begin(), heap.end(), after);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), after);
    RecordCursor<T>& top = *cursors[heap.back()];
    absl::Status s = emit(top);
    if (s.ok()) s = top.Advance();
    if (!s.ok()) return s;
    if (top.done()) {
      heap.pop_back();
    } else {
      std::push_heap(heap.begin(), heap.end(), after);
    }
  }
  return absl::OkStatus();
}

}  // namespace kiln::runtime
