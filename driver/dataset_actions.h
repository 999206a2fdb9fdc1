#pragma once
// The definitions of Dataset's actions (declared and documented in dataset.h): each runs
// a job with a sink operator and assembles the tasks' results on the driver. Included by
// dataset.h only.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "driver/dataset.h"
#include "driver/stat_counter.h"
#include "runtime/ops_sink.h"

namespace kiln {

namespace internal {

// `less` with its arguments swapped: top(n) is take_ordered(n) by it.
template <class Less>
struct Reversed {
  Less less;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return less(b, a);
  }
};

}  // namespace internal

template <class T>
int64_t Dataset<T>::count() const {
  int64_t total = 0;
  using Count = runtime::CountSink<T>;
  for (const std::string& r : Run(runtime::MakeOp<Count>(), "count")) {
    uint64_t n = 0;
    if (!Count::DecodeResult(r, &n)) runner_->Fail("corrupt task result");
    total += static_cast<int64_t>(n);
  }
  return total;
}

template <class T>
std::vector<T> Dataset<T>::collect() const {
  std::vector<T> all;
  std::vector<T> part;
  using Collect = runtime::CollectSink<T>;
  for (const std::string& r : Run(runtime::MakeOp<Collect>(), "collect")) {
    if (!Collect::DecodeResult(r, &part)) runner_->Fail("corrupt task result");
    for (T& x : part) all.push_back(std::move(x));
  }
  return all;
}

template <class T>
std::vector<T> Dataset<T>::take(int64_t n) const {
  std::vector<T> all;
  const int total = num_partitions();
  int scanned = 0;
  std::vector<T> part;
  while (static_cast<int64_t>(all.size()) < n && scanned < total) {
    int64_t tries = 1;
    if (scanned > 0) {
      tries = int64_t{scanned} * kTakeScaleUp;
      if (!all.empty()) {
        const double needed =
            1.5 * static_cast<double>(n) * scanned / static_cast<double>(all.size());
        tries = std::clamp<int64_t>(static_cast<int64_t>(needed) + 1 - scanned, 1, tries);
      }
    }
    std::vector<int> partitions;
    for (int p = scanned; p < total && p < scanned + tries; ++p) partitions.push_back(p);
    scanned += static_cast<int>(partitions.size());
    const uint64_t limit = static_cast<uint64_t>(n - static_cast<int64_t>(all.size()));
    using Collect = runtime::CollectSink<T>;
    for (const std::string& r :
         runner_->RunJobOn(node_, runtime::MakeOp<Collect>({}, Collect::EncodeParams(limit)),
                           "take", partitions)) {
      if (!Collect::DecodeResult(r, &part)) runner_->Fail("corrupt task result");
      for (T& x : part) {
        if (static_cast<int64_t>(all.size()) < n) all.push_back(std::move(x));
      }
    }
  }
  return all;
}

template <class T>
template <class F>
T Dataset<T>::reduce(F f) const {
  std::optional<T> acc = Fold(f, "reduce");
  if (!acc) runner_->Fail("reduce: empty collection");
  return std::move(*acc);
}

template <class T>
template <class F>
void Dataset<T>::foreach (F f) const {
  Run(runtime::MakeOp<runtime::ForeachSink<T, F>>(runtime::EncodeClosure(f)), "foreach");
}

template <class T>
template <class F>
std::optional<T> Dataset<T>::Fold(F f, const char* action) const {
  using Reduce = runtime::ReduceSink<T, F>;
  std::optional<T> acc;
  for (const std::string& r : Run(runtime::MakeOp<Reduce>(runtime::EncodeClosure(f)), action)) {
    std::optional<T> part;
    if (!Reduce::DecodeResult(r, &part)) runner_->Fail("corrupt task result");
    if (!part) continue;
    acc = acc ? f(std::move(*acc), std::move(*part)) : std::move(part);
  }
  return acc;
}

template <class T>
void Dataset<T>::save_as_text_file(const std::string& dir, TextCompression compression) const {
  using Save = runtime::SaveTextSink<T>;
  SaveFiles(dir, runtime::MakeOp<Save>({}, ""), "save_as_text_file",
            runtime::CompressionExtension(compression),
            [&](const std::string& absolute) { return Save::EncodeParams(absolute, compression); });
}

template <class T>
void Dataset<T>::save_as_object_file(const std::string& dir) const {
  SaveFiles(dir, runtime::MakeOp<runtime::SaveObjectSink<T>>(), "save_as_object_file", "",
            [](const std::string& absolute) { return absolute; });
}

template <class T>
template <class Params>
void Dataset<T>::SaveFiles(const std::string& dir, runtime::OpSpec sink, const char* action,
                           std::string_view extension, Params params) const {
  const std::string absolute = runner_->StartOutput(dir, action);
  sink.params = params(absolute);
  std::vector<std::string> files = Run(std::move(sink), action);
  for (const std::string& f : files) {
    std::string_view name;
    if (!runtime::AttemptFile::DecodeResult(f, &name)) runner_->Fail("corrupt task result");
  }
  runner_->CommitOutput(absolute, files, action, extension);
}

template <class T>
T Dataset<T>::first() const {
  std::vector<T> one = take(1);
  if (one.empty()) runner_->Fail("first: empty collection");
  return std::move(one.front());
}

template <class T>
bool Dataset<T>::is_empty() const {
  return num_partitions() == 0 || take(1).empty();
}

template <class T>
auto Dataset<T>::count_by_key() const {
  return keys().count_by_value();  // Spark's countByKey: map(_._1).countByValue()
}

template <class T>
std::map<T, int64_t> Dataset<T>::count_by_value() const {
  std::map<T, int64_t> counts;
  for (auto& [value, n] : map([](T x) {
                            return std::pair<T, int64_t>(std::move(x), 1);
                          }).reduce_by_key([](int64_t a, int64_t b) {
                              return a + b;
                            }).collect()) {
    counts.emplace(std::move(value), n);
  }
  return counts;
}

template <class T>
template <class Less>
std::vector<T> Dataset<T>::take_ordered(int64_t n, Less less) const {
  if (n <= 0) return {};
  // Each task keeps its n smallest in a max-heap by `less`, and sends them sorted.
  auto best = map_partitions([n, less](PartitionInput<T>& in, Emit<T>& out) mutable {
    std::vector<T> heap;
    for (T& x : in) {
      if (static_cast<int64_t>(heap.size()) < n) {
        heap.push_back(std::move(x));
        std::push_heap(heap.begin(), heap.end(), less);
      } else if (less(x, heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), less);
        heap.back() = std::move(x);
        std::push_heap(heap.begin(), heap.end(), less);
      }
    }
    std::sort_heap(heap.begin(), heap.end(), less);
    for (T& x : heap) out(std::move(x));
  });
  std::vector<T> all = best.collect();
  std::stable_sort(all.begin(), all.end(), less);
  if (static_cast<int64_t>(all.size()) > n) all.resize(static_cast<size_t>(n));
  return all;
}

template <class T>
template <class Less>
std::vector<T> Dataset<T>::top(int64_t n, Less less) const {
  return take_ordered(n, internal::Reversed<Less>{less});
}

template <class T>
T Dataset<T>::sum() const {
  return Fold([](T a, T b) { return a + b; }, "sum").value_or(T{});
}

template <class T>
T Dataset<T>::max() const {
  std::optional<T> m = Fold([](T a, T b) { return a < b ? b : a; }, "max");
  if (!m) runner_->Fail("max: empty collection");
  return *m;
}

template <class T>
T Dataset<T>::min() const {
  std::optional<T> m = Fold([](T a, T b) { return b < a ? b : a; }, "min");
  if (!m) runner_->Fail("min: empty collection");
  return *m;
}

template <class T>
StatCounter Dataset<T>::stats() const {
  StatCounter all;
  for (const StatCounter& part : map_partitions([](PartitionInput<T>&in, Emit<StatCounter>&out) {
                                   StatCounter s;
                                   for (const T& x : in) s.add(static_cast<double>(x));
                                   out(s);
                                 }).collect()) {
    all.merge(part);
  }
  return all;
}

template <class T>
double Dataset<T>::mean() const {
  return stats().mean();
}

}  // namespace kiln
