#pragma once
// kiln::Emit<U>: what a flat_map function writes its outputs to, so it can produce any
// number of records without building a container per input record:
//
//   lines.flat_map([](const std::string& line, kiln::Emit<std::string>& out) {
//     for (std::string_view word : kiln::Words(line)) out.emplace(word);
//   });

#include <tuple>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "runtime/operator.h"

namespace kiln {

template <class U>
class Emit {
 public:
  explicit Emit(runtime::BatchEmitter<U>* emitter) : emitter_(emitter) {}
  Emit(const Emit&) = delete;

  void operator()(const U& value) { Check(emitter_->Emit(value)); }
  void operator()(U&& value) { Check(emitter_->Emit(std::move(value))); }
  // Constructs the record in place in the outgoing batch (no temporary).
  template <class... Args>
  void emplace(Args&&... args) {
    Check(emitter_->Emplace(std::forward<Args>(args)...));
  }

  // The first error raised downstream; emitting goes on but the task fails with it.
  const absl::Status& status() const { return status_; }

 private:
  void Check(absl::Status s) {
    if (!s.ok() && status_.ok()) status_ = std::move(s);
  }
  runtime::BatchEmitter<U>* emitter_;
  absl::Status status_;
};

namespace runtime {

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

}  // namespace runtime
}  // namespace kiln
