#pragma once
// Joins with a partitioned side (Spark's co-partitioned join): when one side of a join
// is already placed by key hash into the join's partitions, its records stream through
// one of these operators in the task that computes their partition, with no shuffle;
// only the other side is shuffled, and the operator reads that side's records of the
// same partition (TaskContext::dataset_partition) into a hash table when it opens.
// Outputs come in the streaming side's order, each record's matches in map-id order.
// When both sides are placed alike, CoPartitionedJoinOp joins them with no shuffle at
// all (Spark's join of two co-partitioned RDDs): the table is filled by the records of
// one side's partition computed in the same task, then the other side streams.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/operator.h"
#include "runtime/ops_narrow.h"
#include "runtime/ops_shuffle_read.h"
#include "runtime/spill_join.h"

namespace kiln::runtime {

// Streams pairs (K, S); holds the other side's (K, B) pairs of the partition in a
// JoinTable (on disk when they outgrow the task's memory).
// Derived::Join(kv, matches or null, emit) emits the outputs of one streaming record.
template <class K, class S, class B, class Out, class Derived>
class PartitionedJoinBase : public Consumer<std::pair<K, S>>, public Producer<Out> {
 public:
  using Key = K;
  using Build = B;
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view params) {
    auto op = std::make_unique<Derived>();
    absl::StatusOr<std::vector<ShuffleReadParams>> inputs = ParseReadParams(params, 1);
    if (!inputs.ok()) return inputs.status();
    op->input_ = std::move((*inputs)[0]);
    return std::unique_ptr<OpBase>(std::move(op));
  }

  absl::Status Open(TaskContext& ctx) override {
    NewTable();
    std::string split;
    Writer(&split).PutVarint(static_cast<uint64_t>(ctx.dataset_partition));
    return ReadShuffle<std::pair<K, B>>(ctx, input_, split,
                                        [&](std::pair<K, B>& kb) { return table_->Add(ctx, kb); });
  }

  absl::Status Push(std::vector<std::pair<K, S>>& batch) override {
    auto join = Joiner();
    for (std::pair<K, S>& ks : batch) {
      absl::Status s = table_->Stream(ks, join, Emitter());
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Finish(TaskContext& ctx) override {
    auto join = Joiner();
    absl::Status s = table_->Finish(ctx, join, Emitter());
    table_.reset();
    if (s.ok()) s = out_.Flush();
    if (!s.ok()) return s;
    return this->next_->Finish(ctx);
  }

 protected:
  PartitionedJoinBase() : out_(&this->next_) {}

  void NewTable() { table_ = std::make_unique<JoinTable<K, B, S, Out>>(); }
  absl::Status AddToTable(TaskContext& ctx, std::pair<K, B>& kb) { return table_->Add(ctx, kb); }

  // One output per match, make(ks, value, match); the streaming record's value is
  // copied for all matches but the last, which takes it (a cached group of values is
  // not copied twice).
  template <class B2, class Make, class Emit>
  static absl::Status EmitEach(std::pair<K, S>& ks, const JoinMatches<B2>& matches, Make make,
                               Emit& emit) {
    for (size_t i = 0; i + 1 < matches.size(); ++i) {
      absl::Status s = emit(make(ks, S(ks.second), matches[i]));
      if (!s.ok()) return s;
    }
    return emit(make(ks, std::move(ks.second), matches.back()));
  }

 private:
  auto Joiner() {
    return [](std::pair<K, S>& ks, const JoinMatches<B>* matches, auto&& emit) {
      return Derived::Join(ks, matches, emit);
    };
  }
  auto Emitter() {
    return [this](Out&& o) { return out_.Emit(std::move(o)); };
  }

  BatchEmitter<Out> out_;
  ShuffleReadParams input_;
  std::unique_ptr<JoinTable<K, B, S, Out>> table_;
};

// join, left side partitioned: (k, (v, w)) for every w of the right side's k.
template <class K, class V, class W>
class PartitionedJoinOp : public PartitionedJoinBase<K, V, W, std::pair<K, std::pair<V, W>>,
                                                     PartitionedJoinOp<K, V, W>> {
 public:
  using Out = std::pair<K, std::pair<V, W>>;
  template <class Emit>
  static absl::Status Join(std::pair<K, V>& kv, const JoinMatches<W>* matches, Emit& emit) {
    if (matches == nullptr) return absl::OkStatus();
    return PartitionedJoinOp::EmitEach(
        kv, *matches,
        [](std::pair<K, V>& kv, V v, const W& w) {
          return Out(kv.first, std::pair<V, W>(std::move(v), w));
        },
        emit);
  }
};

// join, right side partitioned: the right side streams, the left side is the table.
template <class K, class V, class W>
class PartitionedRightJoinOp : public PartitionedJoinBase<K, W, V, std::pair<K, std::pair<V, W>>,
                                                          PartitionedRightJoinOp<K, V, W>> {
 public:
  using Out = std::pair<K, std::pair<V, W>>;
  template <class Emit>
  static absl::Status Join(std::pair<K, W>& kw, const JoinMatches<V>* matches, Emit& emit) {
    if (matches == nullptr) return absl::OkStatus();
    return PartitionedRightJoinOp::EmitEach(
        kw, *matches,
        [](std::pair<K, W>& kw, W w, const V& v) {
          return Out(kw.first, std::pair<V, W>(v, std::move(w)));
        },
        emit);
  }
};

// left_outer_join, left side partitioned: as join, and (k, (v, nullopt)) for a left
// record without a match.
template <class K, class V, class W>
class PartitionedLeftOuterJoinOp
    : public PartitionedJoinBase<K, V, W, std::pair<K, std::pair<V, std::optional<W>>>,
                                 PartitionedLeftOuterJoinOp<K, V, W>> {
 public:
  using Out = std::pair<K, std::pair<V, std::optional<W>>>;
  template <class Emit>
  static absl::Status Join(std::pair<K, V>& kv, const JoinMatches<W>* matches, Emit& emit) {
    if (matches == nullptr) {
      return emit(
          Out(kv.first, std::pair<V, std::optional<W>>(std::move(kv.second), std::nullopt)));
    }
    return PartitionedLeftOuterJoinOp::EmitEach(
        kv, *matches,
        [](std::pair<K, V>& kv, V v, const W& w) {
          return Out(kv.first, std::pair<V, std::optional<W>>(std::move(v), w));
        },
        emit);
  }
};

// right_outer_join, right side partitioned: as join with the right side streaming, and
// (k, (nullopt, w)) for a right record without a match.
template <class K, class V, class W>
class PartitionedRightOuterJoinOp
    : public PartitionedJoinBase<K, W, V, std::pair<K, std::pair<std::optional<V>, W>>,
                                 PartitionedRightOuterJoinOp<K, V, W>> {
 public:
  using Out = std::pair<K, std::pair<std::optional<V>, W>>;
  template <class Emit>
  static absl::Status Join(std::pair<K, W>& kw, const JoinMatches<V>* matches, Emit& emit) {
    if (matches == nullptr) {
      return emit(
          Out(kw.first, std::pair<std::optional<V>, W>(std::nullopt, std::move(kw.second))));
    }
    return PartitionedRightOuterJoinOp::EmitEach(
        kw, *matches,
        [](std::pair<K, W>& kw, W w, const V& v) {
          return Out(kw.first, std::pair<std::optional<V>, W>(v, std::move(w)));
        },
        emit);
  }
};

// A join whose two sides are placed by key hash into the same partitions: a boundary
// with two inputs in the task that computes both sides' partition (the task runner
// drives input 0, then input 1). Input 0's records fill the table of `Op` (one of the
// partitioned joins above), input 1's stream through it as the partitioned side's do.
template <class Op>
class CoPartitionedJoinOp final : public Op, public SegmentBoundary {
  using K = typename Op::Key;
  using B = typename Op::Build;

 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view) {
    return std::unique_ptr<OpBase>(std::make_unique<CoPartitionedJoinOp>());
  }
  absl::Status Open(TaskContext& ctx) override {
    this->NewTable();
    build_.ctx_ = &ctx;
    return absl::OkStatus();
  }
  OpBase* Input(size_t ordinal) override {
    if (ordinal == 0) return &build_;
    return ordinal == 1 ? static_cast<OpBase*>(this) : nullptr;
  }
  // The streaming input's end: the join ends with the task's inputs (FinishDownstream).
  absl::Status Finish(TaskContext&) override { return absl::OkStatus(); }
  absl::Status FinishDownstream(TaskContext& ctx) override { return Op::Finish(ctx); }

 private:
  class BuildInput final : public Consumer<std::pair<K, B>> {
   public:
    explicit BuildInput(CoPartitionedJoinOp* join) : join_(join) {}
    absl::Status Push(std::vector<std::pair<K, B>>& batch) override {
      for (std::pair<K, B>& kb : batch) {
        absl::Status s = join_->AddToTable(*ctx_, kb);
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    }
    absl::Status Finish(TaskContext&) override { return absl::OkStatus(); }

    TaskContext* ctx_ = nullptr;  // the task's, from the join's Open

   private:
    CoPartitionedJoinOp* join_;
  };
  BuildInput build_{this};
};

}  // namespace kiln::runtime
