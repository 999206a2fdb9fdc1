#pragma once
// kiln::PartitionInput<T>: a whole partition for the streaming form of map_partitions,
// read once, in the order its records came:
//
//   ds.map_partitions([](kiln::PartitionInput<Row>& in, kiln::Emit<Summary>& out) {
//     for (Row& row : in) ...;  // a record may be moved from
//     out(summary);
//   });
//
// The runtime holds the partition under the task's execution memory and writes what does
// not fit to spill files, in order, so a partition may be far larger than memory: the
// function sees the spilled records first, then those still in memory. A spill file that
// cannot be read ends the iteration early and fails the task (status()). Not
// thread-safe; one pass only.

#include <cstddef>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "runtime/spill_merge.h"

namespace kiln {

template <class T>
class PartitionInput {
 public:
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;

    T& operator*() const { return in_->current(); }
    iterator& operator++() {
      in_->Next();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return in_->at_end_; }

   private:
    friend class PartitionInput;
    explicit iterator(PartitionInput* in) : in_(in) {}
    PartitionInput* in_;
  };

  // Made by the runtime: the spill files (oldest first), then the records in memory.
  PartitionInput(std::vector<std::string> runs, std::vector<T> memory)
      : runs_(std::move(runs)), memory_(std::move(memory)) {}
  PartitionInput(const PartitionInput&) = delete;
  PartitionInput& operator=(const PartitionInput&) = delete;

  iterator begin() {
    if (!started_) {
      started_ = true;
      Settle();
    }
    return iterator(this);
  }
  std::default_sentinel_t end() { return {}; }

  // OK, or why reading a spill file failed (the task fails with it).
  const absl::Status& status() const { return status_; }

 private:
  T& current() { return run_ != nullptr ? run_->record() : memory_[memory_pos_]; }

  void Next() {
    if (at_end_) return;
    if (run_ != nullptr) {
      if (absl::Status s = run_->Advance(); !s.ok()) return Fail(std::move(s));
    } else {
      ++memory_pos_;
    }
    Settle();
  }

  // Moves on to the next source while the current one is done; at_end_ after the last.
  void Settle() {
    while (true) {
      if (run_ != nullptr) {
        if (!run_->done()) return;
        run_.reset();
      }
      if (next_run_ >= runs_.size()) break;
      auto run = std::make_unique<runtime::RunCursor<T>>(runs_[next_run_++]);
      if (absl::Status s = run->Open(); !s.ok()) return Fail(std::move(s));
      run_ = std::move(run);
    }
    at_end_ = memory_pos_ >= memory_.size();
  }

  void Fail(absl::Status s) {
    status_ = std::move(s);
    run_.reset();
    at_end_ = true;
  }

  std::vector<std::string> runs_;
  size_t next_run_ = 0;
  std::unique_ptr<runtime::RunCursor<T>> run_;
  std::vector<T> memory_;
  size_t memory_pos_ = 0;
  bool started_ = false;
  bool at_end_ = false;
  absl::Status status_;
};

}  // namespace kiln
