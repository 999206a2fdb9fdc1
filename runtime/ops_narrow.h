#pragma once
// Narrow operators: per-record (or per-partition) transformations fused into the task
// of their parent. Each processes whole batches; the user's function is inlined into
// the batch loop.

#include <memory>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/closure.h"
#include "runtime/emit.h"
#include "runtime/operator.h"

namespace kiln::runtime {

// The parameter types of a (non-generic) callable's operator().
template <class M>
struct CallArgs {
  using type = void;
};
template <class C, class R, class... A>
struct CallArgs<R (C::*)(A...) const> {
  using type = std::tuple<A...>;
};
template <class C, class R, class... A>
struct CallArgs<R (C::*)(A...)> {
  using type = std::tuple<A...>;
};

template <class F, class = void>
struct EmitTarget {
  using type = void;
};
template <class Args>
struct EmitTargetOfArgs {
  using type = void;
};
template <class A, class U>
struct EmitTargetOfArgs<std::tuple<A, Emit<U>&>> {
  using type = U;
};
template <class F>
struct EmitTarget<F, std::void_t<decltype(&F::operator())>> {
  using type = typename EmitTargetOfArgs<typename CallArgs<decltype(&F::operator())>::type>::type;
};

// The U of a flat_map function written as f(const T&, kiln::Emit<U>&), else void.
template <class F>
using EmitTargetT = typename EmitTarget<F>::type;

// The U of a map_partitions_with_index function, f(int, kiln::PartitionInput<T>&,
// kiln::Emit<U>&).
template <class Args>
struct IndexedEmitTargetOfArgs {
  using type = void;
};
template <class A, class U>
struct IndexedEmitTargetOfArgs<std::tuple<int, A, Emit<U>&>> {
  using type = U;
};
template <class F>
using IndexedEmitTargetT =
    typename IndexedEmitTargetOfArgs<typename CallArgs<decltype(&F::operator())>::type>::type;

// Shared Create() for operators built from a closure alone.
template <class Op>
absl::StatusOr<std::unique_ptr<OpBase>> CreateWithClosure(std::string_view closure) {
  auto op = std::make_unique<Op>();
  absl::Status s = op->fn.Decode(closure);
  if (!s.ok()) return s;
  return std::unique_ptr<OpBase>(std::move(op));
}

// The common tail of a one-in, one-out operator: an output batch and Finish.
template <class In, class Out>
class Transform : public Consumer<In>, public Producer<Out> {
 public:
  Transform() : out_(&this->next_) {}
  absl::Status Finish(TaskContext& ctx) override {
    absl::Status s = out_.Flush();
    if (!s.ok()) return s;
    return this->next_->Finish(ctx);
  }

 protected:
  BatchEmitter<Out> out_;
};

template <class T, class U, class F>
class MapOp final : public Transform<T, U> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view c, std::string_view) {
    return CreateWithClosure<MapOp>(c);
  }
  absl::Status Push(std::vector<T>& batch) override {
    F& f = fn.get();
    std::vector<U>& out = this->out_.batch();
    for (T& x : batch) {
      out.push_back(f(std::move(x)));
      if (out.size() >= kBatchSize) {
        absl::Status s = this->out_.Flush();
        if (!s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }
  Closure<F> fn;
};

template <class T, class F>
class FilterOp final : public Consumer<T>, public Producer<T> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view c, std::string_view) {
    return CreateWithClosure<FilterOp>(c);
  }
  absl::Status Push(std::vector<T>& batch) override {
    F& f = fn.get();
    size_t kept = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (f(std::as_const(batch[i]))) {
        if (kept != i) batch[kept] = std::move(batch[i]);
        ++kept;
      }
    }
    batch.resize(kept);
    if (batch.empty()) return absl::OkStatus();
    return this->next_->Push(batch);
  }
  absl::Status Finish(TaskContext& ctx) override { return this->next_->Finish(ctx); }
  Closure<F> fn;
};

// flat_map with a function returning a range of U.
template <class T, class U, class F>
class FlatMapOp final : public Transform<T, U> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view c, std::string_view) {
    return CreateWithClosure<FlatMapOp>(c);
  }
  absl::Status Push(std::vector<T>& batch) override {
    F& f = fn.get();
    for (T& x : batch) {
      for (auto&& y : f(std::as_const(x))) {
        absl::Status s = this->out_.Emit(std::forward<decltype(y)>(y));
        if (!s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }
  Closure<F> fn;
};

// flat_map with a function f(const T&, Emit<U>&).
template <class T, class U, class F>
class FlatMapEmitOp final : public Transform<T, U> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view c, std::string_view) {
    return CreateWithClosure<FlatMapEmitOp>(c);
  }
  absl::Status Push(std::vector<T>& batch) override {
    F& f = fn.get();
    Emit<U> emit(&this->out_);
    for (const T& x : batch) f(x, emit);
    return emit.status();
  }
  Closure<F> fn;
};

// Marks where a coalesced task's parent partitions end: the operators before it run
// once per parent partition (a fresh chain each time, finished each time), the ones
// after it once per task. Finish() from upstream is swallowed; the task runner calls
// FinishDownstream() after the last parent partition.
class SegmentBoundary : public virtual OpBase {
 public:
  virtual absl::Status FinishDownstream(TaskContext& ctx) = 0;
  // The operator the `ordinal`-th parent partition of a task's unit feeds (null: the
  // boundary takes no such input). A coalesce or union takes all of them itself.
  virtual OpBase* Input(size_t ordinal) { return this; }
};

template <class T>
class CoalesceBoundaryOp final : public Consumer<T>, public Producer<T>, public SegmentBoundary {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view) {
    return std::unique_ptr<OpBase>(std::make_unique<CoalesceBoundaryOp>());
  }
  absl::Status Push(std::vector<T>& batch) override { return this->next_->Push(batch); }
  absl::Status Finish(TaskContext&) override { return absl::OkStatus(); }
  absl::Status FinishDownstream(TaskContext& ctx) override { return this->next_->Finish(ctx); }
};

}  // namespace kiln::runtime
