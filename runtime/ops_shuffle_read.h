#pragma once
// The reduce side of a shuffle: sources that read one reduce partition from every map
// output, in map-id order, and merge it (reduce, group, join, sort, or pass through).

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/codec.h"
#include "common/key_hash.h"
#include "common/memory_size.h"
#include "runtime/closure.h"
#include "runtime/combine_map.h"
#include "runtime/combine_spill.h"
#include "runtime/combine_table.h"
#include "runtime/key_groups.h"
#include "runtime/operator.h"
#include "runtime/shuffle_env.h"
#include "runtime/shuffle_params.h"
#include "runtime/sort_buffer.h"
#include "runtime/spill_join.h"
#include "runtime/spill_merge.h"
#include "runtime/task_memory.h"

namespace kiln::runtime {

// Reads reduce partition `split` (a varint) of each shuffle in the params and hands
// every decoded record of type R to `on_record` (which may move it, and may return an
// absl::Status: an error stops the read and is returned). An `on_record(R&, size_t)` is
// also given the record's encoded size; an `on_record(R&, std::string_view)` its encoded
// bytes (valid during the call) and must return an absl::Status.
template <class R, class OnRecord>
absl::Status ReadShuffle(TaskContext& ctx, const ShuffleReadParams& params, std::string_view split,
                         OnRecord&& on_record) {
  Reader sr(split);
  int reduce_id = static_cast<int>(sr.GetVarint());
  if (!sr.ok()) return absl::DataLossError("corrupt shuffle split");
  std::unique_ptr<ShuffleReader> reader = ctx.shuffle->NewReader();
  R record{};
  int64_t records = 0;
  absl::Status s = reader->Read(params, reduce_id, [&](std::string_view frame) -> absl::Status {
    Reader r(frame);
    while (!r.done()) {
      const size_t left = r.remaining();
      Decode(r, record);
      if (!r.ok()) return absl::DataLossError("corrupt record in shuffle block");
      ++records;
      if constexpr (std::is_invocable_v<OnRecord&, R&, std::string_view>) {
        // With its encoded bytes.
        const std::string_view bytes(frame.data() + (frame.size() - left), left - r.remaining());
        absl::Status s = on_record(record, bytes);
        if (!s.ok()) return s;
      } else if constexpr (std::is_invocable_v<OnRecord&, R&, size_t>) {
        on_record(record, left - r.remaining());  // with its encoded size
      } else if constexpr (std::is_same_v<decltype(on_record(record)), absl::Status>) {
        absl::Status s = on_record(record);
        if (!s.ok()) return s;
      } else {
        on_record(record);
      }
    }
    return absl::OkStatus();
  });
  const ShuffleReadMetrics& m = reader->metrics();
  ctx.metrics.records_read += records;
  ctx.metrics.shuffle_records_read += records;
  ctx.metrics.shuffle_bytes_read += m.local_bytes + m.remote_bytes;
  ctx.metrics.shuffle_local_bytes += m.local_bytes;
  ctx.metrics.shuffle_remote_bytes += m.remote_bytes;
  ctx.metrics.shuffle_local_blocks += m.local_blocks;
  ctx.metrics.shuffle_remote_blocks += m.remote_blocks;
  ctx.metrics.fetch_wait_nanos += m.wait_nanos;
  return s;
}

template <class Op>
absl::StatusOr<std::unique_ptr<OpBase>> CreateShuffleSource(std::unique_ptr<Op> op,
                                                            std::string_view params,
                                                            size_t inputs) {
  auto parsed = ParseReadParams(params, inputs);
  if (!parsed.ok()) return parsed.status();
  op->inputs_ = *std::move(parsed);
  return std::unique_ptr<OpBase>(std::move(op));
}

template <class Out>
class ShuffleSourceBase : public SourceOf<Out> {
 public:
  std::vector<ShuffleReadParams> inputs_;

 protected:
  ShuffleSourceBase() : out_(&this->next_) {}
  BatchEmitter<Out> out_;
};

// repartition's reduce side: the records as they come.
template <class T>
class PassThroughShuffleSource final : public ShuffleSourceBase<T> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    return CreateShuffleSource(std::make_unique<PassThroughShuffleSource>(), p, 1);
  }
  absl::Status Run(TaskContext& ctx, std::string_view split) override {
    absl::Status emit_status;
    // Swapped, not moved, into the batch: the next record decodes into the storage of
    // one the consumer is done with.
    absl::Status s = ReadShuffle<T>(ctx, this->inputs_[0], split, [&](T& x, size_t bytes) {
      if (emit_status.ok()) emit_status = this->out_.EmitSwap(x, bytes);
    });
    if (!s.ok()) return s;
    if (!emit_status.ok()) return emit_status;
    return this->out_.Flush();
  }
};

// reduce_by_key's reduce side: merges the map-side combines per key, in a combine map
// under the task's execution memory; a map that cannot grow is spilled (combine_spill.h).
template <class K, class V, class F>
class ReduceByKeySource final : public ShuffleSourceBase<std::pair<K, V>> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view c, std::string_view p) {
    auto op = std::make_unique<ReduceByKeySource>();
    absl::Status s = op->fn.Decode(c);
    if (!s.ok()) return s;
    return CreateShuffleSource(std::move(op), p, 1);
  }
  absl::Status Run(TaskContext& ctx, std::string_view split) override {
    F& f = fn.get();
    CombineTable<K, V> table;
    table.template Start<ReduceByKeySource>();
    int64_t heap_bytes = 0;
    ExecutionBudget budget;
    std::vector<std::string> runs;
    std::vector<std::pair<K, V>> batch;
    batch.reserve(kBatchSize);
    auto merge = [&]() -> absl::Status {
      heap_bytes += table.Merge(batch, f);
      batch.clear();
      const int64_t bytes = table.Bytes() + heap_bytes;
      if (budget.Cover(ctx, bytes)) return absl::OkStatus();
      absl::StatusOr<std::string> run = SpillCombineMap(ctx, table, bytes);
      if (!run.ok()) return run.status();
      runs.push_back(*std::move(run));
      table.Clear();
      heap_bytes = 0;
      budget.Release(ctx);
      return absl::OkStatus();
    };
    absl::Status s = ReadShuffle<std::pair<K, V>>(
        ctx, this->inputs_[0], split, [&](std::pair<K, V>& kv) -> absl::Status {
          batch.push_back(std::move(kv));
          return batch.size() == kBatchSize ? merge() : absl::OkStatus();
        });
    if (s.ok()) s = merge();
    if (s.ok() && runs.empty()) {
      table.template Learn<ReduceByKeySource>();
      for (const auto& entry : table.InHashOrder()) {
        s = this->out_.Emplace(*entry.key, std::move(*entry.value));
        if (!s.ok()) break;
      }
    } else if (s.ok()) {
      s = MergeCombined<K, V>(
          ctx, runs, table,
          [&](V& into, V&& next, uint64_t, bool) {
            into = f(std::move(into), std::move(next));
            return absl::OkStatus();
          },
          [&](const K& key, uint64_t, V& value) {
            return this->out_.Emplace(key, std::move(value));
          });
    }
    for (const std::string& run : runs) ctx.spills->Remove(run);
    budget.Release(ctx);
    if (!s.ok()) return s;
    return this->out_.Flush();
  }
  Closure<F> fn;
};

// group_by_key's reduce side: every value of a key, in arrival order (map-id order)
// (KeyGroups: spilled when the groups outgrow the task's memory).
template <class K, class V>
class GroupByKeySource final : public ShuffleSourceBase<std::pair<K, std::vector<V>>> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    return CreateShuffleSource(std::make_unique<GroupByKeySource>(), p, 1);
  }
  absl::Status Run(TaskContext& ctx, std::string_view split) override {
    KeyGroups<K, std::vector<V>> groups("group_by_key");
    absl::Status s =
        ReadShuffle<std::pair<K, V>>(ctx, this->inputs_[0], split, [&](std::pair<K, V>& kv) {
          return groups.Add(ctx, kv.first,
                            [&](std::vector<V>& g) { return PushValue(g, std::move(kv.second)); });
        });
    if (!s.ok()) {
      groups.Abandon(ctx);
      return s;
    }
    s = groups.Finish(ctx, [&](const K& key, std::vector<V>& values) {
      return this->out_.Emplace(key, std::move(values));
    });
    if (!s.ok()) return s;
    return this->out_.Flush();
  }
};

// cogroup's reduce side: per key, the values of the left side (V) and of the right side
// (W), each in arrival order; a key on one side only has an empty vector for the other.
template <class K, class V, class W>
class CoGroupSource final
    : public ShuffleSourceBase<std::pair<K, std::pair<std::vector<V>, std::vector<W>>>> {
 public:
  using Group = std::pair<std::vector<V>, std::vector<W>>;
  using Out = std::pair<K, Group>;
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    return CreateShuffleSource(std::make_unique<CoGroupSource>(), p, 2);
  }
  absl::Status Run(TaskContext& ctx, std::string_view split) override {
    KeyGroups<K, Group> groups("cogroup");
    absl::Status s =
        ReadShuffle<std::pair<K, V>>(ctx, this->inputs_[0], split, [&](std::pair<K, V>& kv) {
          return groups.Add(ctx, kv.first,
                            [&](Group& g) { return PushValue(g.first, std::move(kv.second)); });
        });
    if (s.ok()) {
      s = ReadShuffle<std::pair<K, W>>(ctx, this->inputs_[1], split, [&](std::pair<K, W>& kw) {
        return groups.Add(ctx, kw.first,
                          [&](Group& g) { return PushValue(g.second, std::move(kw.second)); });
      });
    }
    if (!s.ok()) {
      groups.Abandon(ctx);
      return s;
    }
    s = groups.Finish(
        ctx, [&](const K& key, Group& group) { return this->out_.Emplace(key, std::move(group)); });
    if (!s.ok()) return s;
    return this->out_.Flush();
  }
};

// Reads the build side (pairs (K, B) of `build`) into a JoinTable, streams the other
// (pairs (K, S) of `stream`) through `join`, and emits the outputs through `out`.
template <class K, class B, class S, class Out, class Join>
absl::Status RunJoin(TaskContext& ctx, std::string_view split, const ShuffleReadParams& build,
                     const ShuffleReadParams& stream, Join& join, BatchEmitter<Out>& out) {
  JoinTable<K, B, S, Out> table;
  auto emit = [&out](Out&& o) { return out.Emit(std::move(o)); };
  absl::Status s = ReadShuffle<std::pair<K, B>>(
      ctx, build, split, [&](std::pair<K, B>& kb) { return table.Add(ctx, kb); });
  if (s.ok()) {
    s = ReadShuffle<std::pair<K, S>>(
        ctx, stream, split, [&](std::pair<K, S>& ks) { return table.Stream(ks, join, emit); });
  }
  if (s.ok()) {
    s = table.Finish(ctx, join, emit);
  } else {
    table.Abandon(ctx);
  }
  if (!s.ok()) return s;
  return out.Flush();
}

// join's reduce side (inner join): the left side is built into a hash table, the right
// side streams past it (JoinTable: on disk when the table outgrows the task's memory).
template <class K, class V, class W>
class JoinSource final : public ShuffleSourceBase<std::pair<K, std::pair<V, W>>> {
 public:
  using Out = std::pair<K, std::pair<V, W>>;
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    return CreateShuffleSource(std::make_unique<JoinSource>(), p, 2);
  }
  absl::Status Run(TaskContext& ctx, std::string_view split) override {
    auto join = [](std::pair<K, W>& kw, const JoinMatches<V>* matches, auto&& emit) {
      if (matches == nullptr) return absl::OkStatus();
      for (const V& v : *matches) {
        absl::Status s = emit(Out(kw.first, std::pair<V, W>(v, kw.second)));
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    };
    return RunJoin<K, V, W, Out>(ctx, split, this->inputs_[0], this->inputs_[1], join, this->out_);
  }
};

// left_outer_join's (kKeepLeft) and right_outer_join's reduce side: the other side is
// built into a hash table, the kept side streams past it; a kept record without a match
// comes out once, with no value for the other side.
template <class K, class V, class W, bool kKeepLeft>
class OuterJoinSource final
    : public ShuffleSourceBase<
          std::conditional_t<kKeepLeft, std::pair<K, std::pair<V, std::optional<W>>>,
                             std::pair<K, std::pair<std::optional<V>, W>>>> {
 public:
  using Out = std::conditional_t<kKeepLeft, std::pair<K, std::pair<V, std::optional<W>>>,
                                 std::pair<K, std::pair<std::optional<V>, W>>>;
  using Kept = std::conditional_t<kKeepLeft, V, W>;   // streams
  using Other = std::conditional_t<kKeepLeft, W, V>;  // built
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    return CreateShuffleSource(std::make_unique<OuterJoinSource>(), p, 2);
  }
  // (k, kept, other) in the output's order of sides.
  static Out Make(const K& key, Kept kept, std::optional<Other> other) {
    if constexpr (kKeepLeft) {
      return Out(key, {std::move(kept), std::move(other)});
    } else {
      return Out(key, {std::move(other), std::move(kept)});
    }
  }
  absl::Status Run(TaskContext& ctx, std::string_view split) override {
    auto join = [](std::pair<K, Kept>& kv, const JoinMatches<Other>* matches, auto&& emit) {
      if (matches == nullptr) return emit(Make(kv.first, std::move(kv.second), std::nullopt));
      for (const Other& other : *matches) {
        absl::Status s = emit(Make(kv.first, kv.second, other));
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    };
    const int kept = kKeepLeft ? 0 : 1;
    return RunJoin<K, Other, Kept, Out>(ctx, split, this->inputs_[1 - kept], this->inputs_[kept],
                                        join, this->out_);
  }
};
template <class K, class V, class W>
using LeftOuterJoinSource = OuterJoinSource<K, V, W, true>;
template <class K, class V, class W>
using RightOuterJoinSource = OuterJoinSource<K, V, W, false>;

// sort_by_key's reduce side: the partition's records sorted by key (stable, so equal
// keys keep the order of the map outputs).
template <class K, class V>
class SortSource final : public ShuffleSourceBase<std::pair<K, V>> {
 public:
  // The prefix of its params (the driver appends the read params).
  static std::string EncodeParams(bool ascending) {
    std::string prefix;
    Writer(&prefix).PutVarint(ascending ? 1 : 0);
    return prefix;
  }
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    auto op = std::make_unique<SortSource>();
    Reader r(p);
    op->ascending_ = r.GetVarint() != 0;
    std::string_view rest = r.GetBytes(r.remaining());
    auto parsed = ParseReadParams(rest, 1);
    if (!parsed.ok()) return parsed.status();
    op->inputs_ = *std::move(parsed);
    return std::unique_ptr<OpBase>(std::move(op));
  }
  absl::Status Run(TaskContext& ctx, std::string_view split) override {
    // Records are buffered, encoded (sort_buffer.h), under the task's execution memory;
    // a buffer that cannot grow is sorted and spilled as a run, and the runs and the last
    // buffer are merged.
    SortBuffer<K, V> buffer(ascending_);
    ExecutionBudget budget;
    std::vector<std::string> runs;
    absl::Status s = ReadShuffle<Record>(
        ctx, this->inputs_[0], split, [&](Record& kv, std::string_view encoded) -> absl::Status {
          buffer.Add(kv, encoded);
          if (budget.Cover(ctx, buffer.memory_bytes())) return absl::OkStatus();
          absl::StatusOr<std::string> run = SpillSorted(ctx, buffer);
          if (!run.ok()) return run.status();
          runs.push_back(*std::move(run));
          buffer.Clear();
          budget.Release(ctx);
          return absl::OkStatus();
        });
    if (s.ok()) {
      buffer.Sort();
      s = runs.empty() ? EmitSorted(buffer) : MergeRuns(ctx, runs, buffer);
    }
    for (const std::string& run : runs) ctx.spills->Remove(run);
    buffer.Clear();
    budget.Release(ctx);
    if (!s.ok()) return s;
    return this->out_.Flush();
  }

 private:
  using Record = std::pair<K, V>;

  // Decoded one at a time into the storage of a record the consumer is done with.
  absl::Status EmitSorted(const SortBuffer<K, V>& buffer) {
    SortedRecords<K, V> sorted(buffer);
    Record record;
    while (const size_t bytes = sorted.Next(&record)) {
      absl::Status s = this->out_.EmitSwap(record, bytes);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // The records' bytes, in key order: no decode, no encode.
  absl::StatusOr<std::string> SpillSorted(TaskContext& ctx, SortBuffer<K, V>& buffer) {
    const int64_t memory_bytes = buffer.memory_bytes();
    buffer.Sort();
    return WriteSpill(ctx, memory_bytes, [&](SpillWriter& out) {
      for (size_t i = 0; i < buffer.size();) {
        i += buffer.CopySorted(i, out.buffer());
        absl::Status s = out.Appended();
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    });
  }

  // Runs in the order they were written, then the buffer (sorted): equal keys keep
  // their order.
  absl::Status MergeRuns(TaskContext& ctx, std::vector<std::string>& runs,
                         const SortBuffer<K, V>& buffer) {
    const bool asc = ascending_;
    auto less = [asc](RecordCursor<Record>& a, RecordCursor<Record>& b) {
      return asc ? a.record().first < b.record().first : b.record().first < a.record().first;
    };
    absl::Status s =
        NarrowRuns(ctx, runs, [&](const std::vector<std::string>& some, SpillWriter& out) {
          std::vector<std::unique_ptr<RecordCursor<Record>>> cursors;
          absl::Status opened = OpenRuns<Record, false>(some, &cursors);
          if (!opened.ok()) return opened;
          return MergeCursors(cursors, less, [&](RecordCursor<Record>& c) {
            Writer w(out.buffer());
            Encode(w, c.record());
            return out.Appended();
          });
        });
    if (!s.ok()) return s;
    std::vector<std::unique_ptr<RecordCursor<Record>>> cursors;
    s = OpenRuns<Record, false>(runs, &cursors);
    if (!s.ok()) return s;
    SortedRecords<K, V> sorted(buffer);
    cursors.push_back(
        MakeMemoryCursor<Record>([&sorted](Record* r, uint64_t*) { return sorted.Next(r) != 0; }));
    s = cursors.back()->Advance();
    if (!s.ok()) return s;
    return MergeCursors(cursors, less, [&](RecordCursor<Record>& c) {
      return this->out_.Emit(std::move(c.record()));
    });
  }

  bool ascending_ = true;
};

}  // namespace kiln::runtime
