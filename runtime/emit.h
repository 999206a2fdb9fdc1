#pragma once
// kiln::Emit<U>: what a flat_map function writes its outputs to, so it can produce any
// number of records without building a container per input record:
//
//   lines.flat_map([](const std::string& line, kiln::Emit<std::string>& out) {
//     for (std::string_view word : kiln::Words(line)) out.emplace(word);
//   });

#include <utility>

#include "absl/status/status.h"

namespace kiln {

namespace runtime {
template <class Out>
class BatchEmitter;  // runtime/operator.h
}  // namespace runtime

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

}  // namespace kiln
