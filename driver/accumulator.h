#pragma once
// Spark's accumulators: variables that tasks add to and the driver reads.
//
//   kiln::LongAccumulator bad = ctx.long_accumulator("bad records");
//   auto parsed = lines.flat_map([bad](const std::string& line, kiln::Emit<Row>& out) {
//     if (auto row = Parse(line)) out(*row); else bad.add(1);
//   });
//   parsed.count();
//   std::printf("%lld bad\n", static_cast<long long>(bad.value()));
//
// A handle is captured by value in the functions a job ships. Inside a task, add()
// goes to the task attempt's own updates; the driver merges them when the attempt
// succeeds and its result is kept, once per task: a failed attempt's additions are
// dropped, and of a task's retried or speculative attempts only the one whose result
// counts is merged (Spark's guarantee for updates inside actions; a stage run again
// because its shuffle output was lost adds again, as in Spark). add() on the driver,
// outside a job, adds at once. value() and the others read on the driver only; in a
// task they throw std::logic_error, as Spark's do. Named accumulators are listed at the
// end of each job that changed them, and on the UI's stage pages.
//
// Handles are trivially copyable and thread-safe; they stay valid while the Context
// that made them lives.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/codec.h"

namespace kiln {
namespace internal {
class AccumulatorRegistry;
enum class AccumulatorKind { kLong, kDouble, kCollection };
}  // namespace internal

// Shared by the kinds: the id and the driver's registry.
class AccumulatorHandle {
 public:
  // The name given at creation ("" for an unnamed one).
  std::string name() const;
  // How many values were added.
  int64_t count() const;

 protected:
  AccumulatorHandle(internal::AccumulatorRegistry* registry, int64_t id)
      : registry_(registry), id_(id) {}
  // The driver's registry; throws std::logic_error in a task.
  internal::AccumulatorRegistry& OnDriver(const char* what) const;
  void AddItem(std::string encoded) const;

  internal::AccumulatorRegistry* registry_ = nullptr;  // the driver's; unused in executors
  int64_t id_ = 0;
};

// Sums int64_t values (Spark's LongAccumulator).
class LongAccumulator : public AccumulatorHandle {
 public:
  void add(int64_t v) const;
  int64_t value() const { return sum(); }
  int64_t sum() const;
  double avg() const;  // sum / count; NaN when nothing was added

 private:
  friend class Context;
  using AccumulatorHandle::AccumulatorHandle;
};

// Sums double values (Spark's DoubleAccumulator).
class DoubleAccumulator : public AccumulatorHandle {
 public:
  void add(double v) const;
  double value() const { return sum(); }
  double sum() const;
  double avg() const;  // sum / count; NaN when nothing was added

 private:
  friend class Context;
  using AccumulatorHandle::AccumulatorHandle;
};

// Collects every value added (Spark's CollectionAccumulator): value() lists them, those
// of each merged task attempt in the order the attempt added them, task after task in
// the order the driver merged them. T needs a kiln::Codec.
template <class T>
class CollectionAccumulator : public AccumulatorHandle {
 public:
  void add(const T& v) const {
    std::string encoded;
    Writer w(&encoded);
    Codec<T>::Encode(w, v);
    AddItem(std::move(encoded));
  }
  std::vector<T> value() const {
    std::vector<T> out;
    for (const std::string& item : Items()) {
      Reader r(item);
      T v{};
      Codec<T>::Decode(r, v);
      out.push_back(std::move(v));
    }
    return out;
  }

 private:
  friend class Context;
  using AccumulatorHandle::AccumulatorHandle;
  std::vector<std::string> Items() const;
};

namespace internal {
std::vector<std::string> AccumulatorItems(AccumulatorRegistry& registry, int64_t id);
}  // namespace internal

template <class T>
std::vector<std::string> CollectionAccumulator<T>::Items() const {
  return internal::AccumulatorItems(OnDriver("value()"), id_);
}

}  // namespace kiln
