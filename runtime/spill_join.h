#pragma once
// JoinTable: the build side of a hash join (each key's values, in arrival order) under
// its task's execution memory, and the streaming side's pass over it. While the table
// fits, stream records are joined at once. When it cannot grow, the join goes to disk as
// a Grace hash join: both sides are cut by key hash into kBuckets bucket files (spill
// runs, in arrival order); at the end each bucket's build side is loaded alone and its
// stream records joined in arrival order, each output written with the sequence number
// of its stream record to the bucket's output run; a merge of those runs by sequence
// number then yields the outputs in exactly the order an in-memory join gives (stream
// order, each record's matches in arrival order). A single bucket that does not fit
// (one key with too many values) fails the task, naming the partition and the remedies.
//
// join(std::pair<K, S>& record, const JoinMatches<B>* matches, emit) produces the
// outputs of one stream record through emit(Out&&) -> absl::Status. Not thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "common/codec.h"
#include "common/key_hash.h"
#include "common/memory_size.h"
#include "runtime/combine_map.h"
#include "runtime/spill_merge.h"
#include "runtime/task_memory.h"

namespace kiln::runtime {

// The build side's values of one key, in arrival order. The first is held in the table's
// slot: a key with one value (a dimension table, last round's ranks) costs no allocation.
template <class B>
using JoinMatches = absl::InlinedVector<B, 1>;

// A build bucket that cannot be held in the task's memory.
absl::Status JoinBucketTooLarge(int partition, int64_t bytes, int64_t held);

template <class K, class B, class S, class Out>
class JoinTable {
 public:
  static constexpr int kBuckets = 32;

  // The table starts as large as the last one of this type in the process became (its
  // tasks see similar data), as the combine maps do.
  JoinTable() { table_.reserve(SizeHint<JoinTable>::Get()); }

  // One build-side pair.
  absl::Status Add(TaskContext& ctx, std::pair<K, B>& kb) {
    if (partitioned()) return WriteBucket(build_, kb.first, kb);
    JoinMatches<B>& values = table_[kb.first];
    bytes_ += PairBytes(kb);
    values.push_back(std::move(kb.second));
    if (budget_.Cover(ctx, bytes_)) return absl::OkStatus();
    return GoToDisk(ctx);
  }

  // One stream-side record.
  template <class Join, class Emit>
  absl::Status Stream(std::pair<K, S>& ks, Join& join, Emit emit) {
    if (!partitioned()) {
      auto it = table_.find(ks.first);
      return join(ks, it == table_.end() ? nullptr : &it->second, emit);
    }
    const std::pair<int64_t, std::pair<K, S>> tagged(seq_++, std::move(ks));
    return WriteBucket(stream_, tagged.second.first, tagged);
  }

  // After the last stream record: joins the buckets on disk (nothing if in memory), then
  // returns the memory.
  template <class Join, class Emit>
  absl::Status Finish(TaskContext& ctx, Join& join, Emit emit) {
    if (!partitioned()) SizeHint<JoinTable>::Set(table_.size());
    absl::Status s = partitioned() ? JoinBuckets(ctx, join, emit) : absl::OkStatus();
    Abandon(ctx);
    return s;
  }

  // Drops everything (after an error): the bucket files and the memory.
  void Abandon(TaskContext& ctx) {
    for (auto* files : {&build_, &stream_}) {
      for (Bucket& b : *files) {
        if (b.writer != nullptr) ctx.spills->Remove(b.writer->path());
      }
      files->clear();
    }
    Clear(ctx);
  }

  void Clear(TaskContext& ctx) {
    KeyMap<K, JoinMatches<B>>().swap(table_);
    bytes_ = 0;
    budget_.Release(ctx);
  }

 private:
  struct Bucket {
    std::unique_ptr<SpillWriter> writer;
  };

  bool partitioned() const { return !build_.empty(); }

  // What one build pair adds to the table: its slot share and what it owns.
  static int64_t PairBytes(const std::pair<K, B>& kb) {
    return static_cast<int64_t>(sizeof(K) + sizeof(JoinMatches<B>) + 16 +
                                HeapBytes<K>::Of(kb.first) + MemoryBytes(kb.second));
  }

  static int BucketOf(const K& key) {
    return static_cast<int>((KeyHash<K>()(key) >> 40) % kBuckets);
  }

  absl::Status OpenBuckets(TaskContext& ctx, std::vector<Bucket>* files) {
    files->resize(kBuckets);
    for (Bucket& b : *files) {
      absl::StatusOr<std::string> path = ctx.spills->NewPath();
      if (!path.ok()) return path.status();
      b.writer = std::make_unique<SpillWriter>(*path, ctx.spills->compression());
      if (!b.writer->status().ok()) return b.writer->status();
    }
    return absl::OkStatus();
  }

  template <class Record>
  absl::Status WriteBucket(std::vector<Bucket>& files, const K& key, const Record& record) {
    SpillWriter& out = *files[static_cast<size_t>(BucketOf(key))].writer;
    Writer w(out.buffer());
    Encode(w, record);
    return out.Appended();
  }

  // The table no longer fits: every pair so far goes to the build buckets (each key's
  // values in arrival order, which is all the join needs), and so will the rest.
  absl::Status GoToDisk(TaskContext& ctx) {
    absl::Status s = OpenBuckets(ctx, &build_);
    if (s.ok()) s = OpenBuckets(ctx, &stream_);
    for (auto& [key, values] : table_) {
      for (B& value : values) {
        if (!s.ok()) break;
        SpillWriter& out = *build_[static_cast<size_t>(BucketOf(key))].writer;
        Writer w(out.buffer());
        Encode(w, key);  // as the pair (key, value) encodes
        Encode(w, value);
        s = out.Appended();
      }
    }
    ctx.metrics.spill_count += 1;
    ctx.metrics.memory_bytes_spilled += bytes_;
    Clear(ctx);
    return s;
  }

  template <class Join, class Emit>
  absl::Status JoinBuckets(TaskContext& ctx, Join& join, Emit emit) {
    using Tagged = std::pair<int64_t, Out>;
    std::vector<std::string> outputs;
    absl::Status s;
    for (int b = 0; s.ok() && b < kBuckets; ++b) {
      for (auto* files : {&build_, &stream_}) {
        absl::StatusOr<int64_t> bytes = (*files)[b].writer->Finish();
        if (!bytes.ok()) return bytes.status();
        ctx.metrics.disk_bytes_spilled += *bytes;
      }
      s = LoadBucket(ctx, build_[b].writer->path());
      if (!s.ok()) break;
      absl::StatusOr<std::string> run = WriteSpill(ctx, 0, [&](SpillWriter& out) {
        RunCursor<std::pair<int64_t, std::pair<K, S>>> stream(stream_[b].writer->path());
        absl::Status r = stream.Open();
        while (r.ok() && !stream.done()) {
          const int64_t seq = stream.record().first;
          auto it = table_.find(stream.record().second.first);
          r = join(stream.record().second, it == table_.end() ? nullptr : &it->second,
                   [&](Out&& o) {
                     Writer w(out.buffer());
                     Encode(w, Tagged(seq, std::move(o)));
                     return out.Appended();
                   });
          if (r.ok()) r = stream.Advance();
        }
        return r;
      });
      Clear(ctx);
      if (!run.ok()) return run.status();
      outputs.push_back(*std::move(run));
    }
    if (!s.ok()) return s;
    std::vector<std::unique_ptr<RecordCursor<Tagged>>> cursors;
    s = OpenRuns<Tagged, false>(outputs, &cursors);
    if (s.ok()) {
      s = MergeCursors(
          cursors,
          [](RecordCursor<Tagged>& x, RecordCursor<Tagged>& y) {
            return x.record().first < y.record().first;
          },
          [&](RecordCursor<Tagged>& c) { return emit(std::move(c.record().second)); });
    }
    for (const std::string& run : outputs) ctx.spills->Remove(run);
    return s;
  }

  absl::Status LoadBucket(TaskContext& ctx, const std::string& path) {
    RunCursor<std::pair<K, B>> build(path);
    absl::Status s = build.Open();
    while (s.ok() && !build.done()) {
      std::pair<K, B>& kb = build.record();
      bytes_ += PairBytes(kb);
      table_[kb.first].push_back(std::move(kb.second));
      if (!budget_.Cover(ctx, bytes_)) {
        return JoinBucketTooLarge(ctx.partition, bytes_, budget_.acquired());
      }
      s = build.Advance();
    }
    return s;
  }

  KeyMap<K, JoinMatches<B>> table_;
  int64_t bytes_ = 0;  // the table's, estimated per pair
  ExecutionBudget budget_;
  std::vector<Bucket> build_;   // non-empty: partitioned (on disk)
  std::vector<Bucket> stream_;  // (seq, record) of the stream side, per bucket
  int64_t seq_ = 0;
};

}  // namespace kiln::runtime
