#pragma once
// The definitions of Dataset's longer transformations and of those built from others
// (all declared and documented in dataset.h), in Spark's terms: joins where a side
// placed by key already is, sort_by_key ranges from a sample of keys, distinct is a reduce_by_key,
// sort_by a sort_by_key on key_by, sample and random_split a seeded generator per partition.
// Included by dataset.h only.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "driver/dataset.h"
#include "driver/sampling.h"
#include "runtime/combine_map.h"
#include "runtime/pipe.h"
#include "runtime/to_text.h"

namespace kiln {

namespace internal {

// Chooses the range bounds of sort_by_key from per-partition samples, each weighted by
// how many records its partition held (as Spark's RangePartitioner does).
template <class K>
std::vector<K> ChooseBounds(std::vector<std::pair<uint64_t, std::vector<K>>> samples,
                            int partitions) {
  std::vector<std::pair<K, double>> weighted;
  double total = 0;
  for (auto& [seen, keys] : samples) {
    if (keys.empty()) continue;
    double w = static_cast<double>(seen) / static_cast<double>(keys.size());
    for (K& k : keys) weighted.emplace_back(std::move(k), w);
    total += static_cast<double>(seen);
  }
  std::sort(weighted.begin(), weighted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<K> bounds;
  double step = total / partitions, cumulative = 0, target = step;
  for (size_t i = 0; i < weighted.size() && static_cast<int>(bounds.size()) < partitions - 1; ++i) {
    cumulative += weighted[i].second;
    if (cumulative >= target && (bounds.empty() || bounds.back() < weighted[i].first)) {
      bounds.push_back(weighted[i].first);
      target += step;
    }
  }
  return bounds;
}

// zip_with_index's function: where each partition's indexes start (the counts of the
// partitions before it, summed), shipped with a codec.
template <class T>
struct ZipWithIndex {
  std::vector<int64_t> starts;
  void operator()(int partition, PartitionInput<T>& in, Emit<std::pair<T, int64_t>>& out) const {
    int64_t next = starts[static_cast<size_t>(partition)];
    for (T& x : in) out(std::pair<T, int64_t>(std::move(x), next++));
  }
};

// pipe's function: the command's argv, shipped with a codec.
template <class T>
struct Pipe {
  std::vector<std::string> argv;
  void operator()(PartitionInput<T>& in, Emit<std::string>& out) const {
    runtime::PipedCommand command(argv);
    absl::Status s = command.Start([&in](const std::function<bool(std::string_view)>& write) {
      std::string line;
      for (const T& x : in) {
        line.clear();
        ToText<T>::Append(line, x);
        if (!write(line)) return;  // the command stopped reading
      }
    });
    if (s.ok()) s = command.ReadLines([&out](std::string_view line) { out(std::string(line)); });
    if (!s.ok()) throw std::runtime_error(std::string(s.message()));
  }
};

}  // namespace internal

template <class T>
struct Codec<internal::Pipe<T>> {
  static void Encode(Writer& w, const internal::Pipe<T>& f) { ::kiln::Encode(w, f.argv); }
  static void Decode(Reader& r, internal::Pipe<T>& f) { ::kiln::Decode(r, f.argv); }
};

template <class T>
struct Codec<internal::ZipWithIndex<T>> {
  static void Encode(Writer& w, const internal::ZipWithIndex<T>& f) { ::kiln::Encode(w, f.starts); }
  static void Decode(Reader& r, internal::ZipWithIndex<T>& f) { ::kiln::Decode(r, f.starts); }
};

template <class T>
template <class F>
auto Dataset<T>::map_partitions_with_index(F f) const {
  using U = runtime::IndexedEmitTargetT<F>;
  static_assert(!std::is_void_v<U>,
                "kiln: map_partitions_with_index takes f(int partition, "
                "kiln::PartitionInput<T>& in, kiln::Emit<U>& out)");
  return Narrow<U>(
      runtime::MakeOp<runtime::MapPartitionsStreamOp<T, U, F>>(runtime::EncodeClosure(f)),
      "map_partitions_with_index");
}

template <class T>
template <class Op, class Stay, class Move>
auto Dataset<T>::JoinWhereItIs(const Stay& stay, const Move& move, int r, const char* name) {
  using MK = typename internal::PairTraits<typename Move::value_type>::Key;
  using MV = typename internal::PairTraits<typename Move::value_type>::Value;
  auto dep = move.template NewShuffle<runtime::HashShuffleSink<MK, MV>>(r);
  auto node = stay.NewNode(internal::PlanNode::Kind::kNarrow, name, r);
  node->op = runtime::MakeOp<Op>();
  node->parent = stay.node_;
  node->deps = {dep};
  node->key_partitions = r;
  return Dataset<typename Op::Out>(stay.runner_, std::move(node));
}

template <class T>
template <class Op, class Stream, class Build>
auto Dataset<T>::JoinInPlace(const Stream& stream, const Build& build, int r, const char* name) {
  auto node = stream.NewNode(internal::PlanNode::Kind::kUnion, name, r);
  node->op = runtime::MakeOp<runtime::CoPartitionedJoinOp<Op>>();
  node->inputs = {build.node_, stream.node_};  // the table's side first
  for (int p = 0; p < r; ++p) node->groups.push_back({p, r + p});
  node->key_partitions = r;
  return Dataset<typename Op::Out>(stream.runner_, std::move(node));
}

template <class T>
template <template <class, class, class> class JoinOp, class Other>
auto Dataset<T>::JoinBy(const Other& other, int r, const char* name) const {
  using K = typename internal::PairTraits<T>::Key;
  using V = typename internal::PairTraits<T>::Value;
  using W = typename internal::PairTraits<typename Other::value_type>::Value;
  static_assert(std::is_same_v<K, typename internal::PairTraits<typename Other::value_type>::Key>,
                "kiln: a join needs two datasets of pairs with the same key type");
  auto left = NewShuffle<runtime::HashShuffleSink<K, V>>(r);
  auto right = other.template NewShuffle<runtime::HashShuffleSink<K, W>>(r);
  using Op = JoinOp<K, V, W>;
  return Shuffled<typename Op::Out>(runtime::MakeOp<Op>(), {left, right}, name, {},
                                    /*by_key=*/true);
}

template <class T>
Dataset<T> Dataset<T>::union_(const Dataset<T>& other) const {
  if (runner_ != other.runner_) runner_->Fail("union_: the datasets come from different contexts");
  const int n = num_partitions();
  const int m = other.num_partitions();
  const int r = node_->key_partitions;
  const bool placed = r > 0 && other.node_->key_partitions == r && n == r && m == r;
  auto node = NewNode(internal::PlanNode::Kind::kUnion, "union", placed ? r : n + m);
  node->op = runtime::MakeOp<runtime::CoalesceBoundaryOp<T>>();
  node->inputs = {node_, other.node_};
  for (int p = 0; p < node->num_partitions; ++p) {
    node->groups.push_back(placed ? std::vector<int>{p, n + p} : std::vector<int>{p});
  }
  if (placed) node->key_partitions = r;
  return Dataset<T>(runner_, std::move(node));
}

template <class T>
template <class U>
Dataset<std::pair<T, U>> Dataset<T>::cartesian(const Dataset<U>& other) const {
  const int64_t n = num_partitions();
  const int64_t m = other.num_partitions();
  if (n * m > std::numeric_limits<int>::max()) {
    runner_->Fail(StrCat("cartesian: ", n, " x ", m, " partitions is too many; coalesce a side"));
  }
  runner_->Warn(StrCat("cartesian: ", n, " x ", m, " = ", n * m,
                       " partitions holding every pair of records (|this| x |other|); each "
                       "record of this side is shuffled to ",
                       m, " tasks, each of the other's to ", n));
  // Cell i*m+j pairs this side's partition i with other's partition j. Other's side is
  // the join's build side, so each t meets every u in other's order (Spark's order).
  auto built = other.map_partitions_with_index(
      [n, m](int j, PartitionInput<U>& in, Emit<std::pair<int64_t, U>>& out) {
        for (U& u : in) {
          for (int64_t i = 0; i < n; ++i) out(std::pair<int64_t, U>(i * m + j, u));
        }
      });
  auto streamed = map_partitions_with_index(
      [m](int i, PartitionInput<T>& in, Emit<std::pair<int64_t, T>>& out) {
        for (T& t : in) {
          for (int64_t j = 0; j < m; ++j) out(std::pair<int64_t, T>(i * m + j, t));
        }
      });
  auto cell = [](int64_t c) { return c; };
  auto build_dep =
      built.template NewShuffle<runtime::PartitionerShuffleSink<int64_t, U, decltype(cell)>>(
          static_cast<int>(n * m), runtime::EncodeClosure(cell));
  auto stream_dep =
      streamed.template NewShuffle<runtime::PartitionerShuffleSink<int64_t, T, decltype(cell)>>(
          static_cast<int>(n * m), runtime::EncodeClosure(cell));
  using Join = runtime::JoinSource<int64_t, U, T>;
  auto joined =
      Shuffled<typename Join::Out>(runtime::MakeOp<Join>(), {build_dep, stream_dep}, "cartesian");
  auto swap = [](std::pair<int64_t, std::pair<U, T>> c) {
    return std::pair<T, U>(std::move(c.second.second), std::move(c.second.first));
  };
  return joined.template Narrow<std::pair<T, U>>(
      runtime::MakeOp<runtime::MapOp<typename Join::Out, std::pair<T, U>, decltype(swap)>>(
          runtime::EncodeClosure(swap)),
      "cartesian");
}

template <class T>
Dataset<std::string> Dataset<T>::pipe(std::vector<std::string> argv) const {
  if (argv.empty() || argv[0].empty()) runner_->Fail("pipe: the command is empty");
  internal::Pipe<T> f;
  f.argv = std::move(argv);
  return map_partitions(f);
}

template <class T>
Dataset<std::pair<T, int64_t>> Dataset<T>::zip_with_index() const {
  internal::ZipWithIndex<T> f;
  f.starts.assign(static_cast<size_t>(num_partitions()), 0);
  if (num_partitions() > 1) {
    std::vector<int> counted(static_cast<size_t>(num_partitions() - 1));
    std::iota(counted.begin(), counted.end(), 0);
    using Count = runtime::CountSink<T>;
    std::vector<std::string> counts =
        runner_->RunJobOn(node_, runtime::MakeOp<Count>(), "zip_with_index (counting)", counted);
    for (size_t i = 0; i < counts.size(); ++i) {
      uint64_t n = 0;
      if (!Count::DecodeResult(counts[i], &n)) runner_->Fail("corrupt task result");
      f.starts[i + 1] = f.starts[i] + static_cast<int64_t>(n);
    }
  }
  return map_partitions_with_index(f);
}

template <class T>
Dataset<T> Dataset<T>::sample(bool with_replacement, double fraction, uint64_t seed) const {
  if (!(fraction >= 0) || (!with_replacement && fraction > 1)) {
    runner_->Fail(StrCat("sample: the fraction must be ",
                         with_replacement ? ">= 0" : "between 0 and 1 without replacement",
                         ", got ", fraction));
  }
  return map_partitions_with_index(
      [with_replacement, fraction, seed](int partition, PartitionInput<T>& in, Emit<T>& out) {
        internal::PartitionRandom random(seed, partition);
        for (T& x : in) {
          if (!with_replacement) {
            if (random.Uniform() < fraction) out(std::move(x));
            continue;
          }
          for (int copies = random.Poisson(fraction); copies > 0; --copies) out(x);
        }
      });
}

template <class T>
std::vector<Dataset<T>> Dataset<T>::random_split(const std::vector<double>& weights,
                                                 uint64_t seed) const {
  double total = 0;
  for (double w : weights) {
    if (!(w >= 0)) runner_->Fail(StrCat("random_split: a weight is negative: ", w));
    total += w;
  }
  if (!(total > 0)) runner_->Fail("random_split: the weights must sum to more than 0");
  std::vector<Dataset<T>> splits;
  double low = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    // The last split ends at 1 exactly, so that rounding loses no record.
    const double high = i + 1 == weights.size() ? 1.0 : low + weights[i] / total;
    splits.push_back(map_partitions_with_index(
        [low, high, seed](int partition, PartitionInput<T>& in, Emit<T>& out) {
          internal::PartitionRandom random(seed, partition);
          for (T& x : in) {
            const double u = random.Uniform();
            if (u >= low && u < high) out(std::move(x));
          }
        }));
    low = high;
  }
  return splits;
}

template <class T>
template <class Other>
auto Dataset<T>::join(const Other& other, int partitions) const {
  using K = typename internal::PairTraits<T>::Key;
  using V = typename internal::PairTraits<T>::Value;
  using W = typename internal::PairTraits<typename Other::value_type>::Value;
  const int r = JoinPartitions(other, partitions);
  if (PlacedAlike(other, r)) {
    return JoinInPlace<runtime::PartitionedJoinOp<K, V, W>>(*this, other, r, "join");
  }
  if (node_->key_partitions == r) {
    return JoinWhereItIs<runtime::PartitionedJoinOp<K, V, W>>(*this, other, r, "join");
  }
  if (other.node_->key_partitions == r) {
    return JoinWhereItIs<runtime::PartitionedRightJoinOp<K, V, W>>(other, *this, r, "join");
  }
  return JoinBy<runtime::JoinSource>(other, r, "join");
}

template <class T>
template <class Other>
auto Dataset<T>::left_outer_join(const Other& other, int partitions) const {
  using K = typename internal::PairTraits<T>::Key;
  using V = typename internal::PairTraits<T>::Value;
  using W = typename internal::PairTraits<typename Other::value_type>::Value;
  const int r = JoinPartitions(other, partitions);
  if (PlacedAlike(other, r)) {
    return JoinInPlace<runtime::PartitionedLeftOuterJoinOp<K, V, W>>(*this, other, r,
                                                                     "left_outer_join");
  }
  if (node_->key_partitions == r) {
    return JoinWhereItIs<runtime::PartitionedLeftOuterJoinOp<K, V, W>>(*this, other, r,
                                                                       "left_outer_join");
  }
  return JoinBy<runtime::LeftOuterJoinSource>(other, r, "left_outer_join");
}

template <class T>
template <class Other>
auto Dataset<T>::right_outer_join(const Other& other, int partitions) const {
  using K = typename internal::PairTraits<T>::Key;
  using V = typename internal::PairTraits<T>::Value;
  using W = typename internal::PairTraits<typename Other::value_type>::Value;
  const int r = JoinPartitions(other, partitions);
  if (PlacedAlike(other, r)) {
    return JoinInPlace<runtime::PartitionedRightOuterJoinOp<K, V, W>>(other, *this, r,
                                                                      "right_outer_join");
  }
  if (other.node_->key_partitions == r) {
    return JoinWhereItIs<runtime::PartitionedRightOuterJoinOp<K, V, W>>(other, *this, r,
                                                                        "right_outer_join");
  }
  return JoinBy<runtime::RightOuterJoinSource>(other, r, "right_outer_join");
}

template <class T>
Dataset<T> Dataset<T>::sort_by_key(bool ascending, int partitions) const {
  using K = typename internal::PairTraits<T>::Key;
  using V = typename internal::PairTraits<T>::Value;
  using Sample = runtime::KeySampleSink<K, V>;
  int r = Partitions(partitions);
  // About 1,000 sampled keys per range (Spark's RangePartitioner takes 60), at most a
  // million in all: a range's share of the records then errs by about 3% rather than
  // 13%, and the largest of 8 was 24% over the mean with 60. Every record is read to
  // sample it anyway; the larger reservoir costs next to nothing.
  const int64_t sample_total = std::min<int64_t>(1'000'000, 1000LL * r);
  const uint64_t per_partition =
      static_cast<uint64_t>((sample_total + num_partitions() - 1) / num_partitions());
  std::vector<std::string> results =
      runner_->RunJob(node_, runtime::MakeOp<Sample>({}, Sample::EncodeParams(per_partition)),
                      "sort_by_key (sampling its keys)");
  std::vector<std::pair<uint64_t, std::vector<K>>> samples(results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    if (!Sample::DecodeResult(results[i], &samples[i].first, &samples[i].second)) {
      runner_->Fail("corrupt task result");
    }
  }
  std::vector<K> bounds = internal::ChooseBounds(std::move(samples), r);
  auto dep = NewShuffle<runtime::RangeShuffleSink<K, V>>(r, {}, EncodeAll(bounds), ascending);
  return Shuffled<T>(runtime::MakeOp<runtime::SortSource<K, V>>(), {dep}, "sort_by_key",
                     runtime::SortSource<K, V>::EncodeParams(ascending));
}

template <class T>
Dataset<T> Dataset<T>::partition_by(int partitions) const {
  using K = typename internal::PairTraits<T>::Key;
  using V = typename internal::PairTraits<T>::Value;
  if (partitions <= 0) runner_->Fail("partition_by: the partition count must be > 0");
  auto dep = NewShuffle<runtime::HashShuffleSink<K, V>>(partitions);
  return Shuffled<T>(runtime::MakeOp<runtime::PassThroughShuffleSource<T>>(), {dep}, "partition_by",
                     {}, /*by_key=*/true);
}

template <class T>
template <class F>
Dataset<T> Dataset<T>::partition_by(int partitions, F partitioner) const {
  using K = typename internal::PairTraits<T>::Key;
  using V = typename internal::PairTraits<T>::Value;
  if (partitions <= 0) runner_->Fail("partition_by: the partition count must be > 0");
  auto dep = NewShuffle<runtime::PartitionerShuffleSink<K, V, F>>(
      partitions, runtime::EncodeClosure(partitioner));
  return Shuffled<T>(runtime::MakeOp<runtime::PassThroughShuffleSource<T>>(), {dep},
                     "partition_by");
}

template <class T>
template <class Other>
auto Dataset<T>::cogroup(const Other& other, int partitions) const {
  return JoinBy<runtime::CoGroupSource>(other, JoinPartitions(other, partitions), "cogroup");
}

template <class T>
template <class Other>
auto Dataset<T>::full_outer_join(const Other& other, int partitions) const {
  using V = typename internal::PairTraits<T>::Value;
  using W = typename internal::PairTraits<typename Other::value_type>::Value;
  using Both = std::pair<std::optional<V>, std::optional<W>>;
  return cogroup(other, partitions)
      .flat_map_values([](const std::pair<std::vector<V>, std::vector<W>>& sides) {
        const auto& [vs, ws] = sides;
        std::vector<Both> out;
        if (ws.empty()) {
          for (const V& v : vs) out.emplace_back(v, std::nullopt);
        } else if (vs.empty()) {
          for (const W& w : ws) out.emplace_back(std::nullopt, w);
        } else {
          out.reserve(vs.size() * ws.size());
          for (const V& v : vs) {
            for (const W& w : ws) out.emplace_back(v, w);
          }
        }
        return out;
      });
}

template <class T>
Dataset<T> Dataset<T>::intersection(const Dataset<T>& other, int partitions) const {
  auto tag = [](T x) { return std::pair<T, uint8_t>(std::move(x), 0); };
  return map(tag)
      .cogroup(other.map(tag), partitions)
      .filter([](const std::pair<T, std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>& kv) {
        return !kv.second.first.empty() && !kv.second.second.empty();
      })
      .keys();
}

template <class T>
Dataset<T> Dataset<T>::subtract(const Dataset<T>& other, int partitions) const {
  auto tag = [](T x) { return std::pair<T, uint8_t>(std::move(x), 0); };
  return map(tag)
      .cogroup(other.map(tag), partitions)
      .flat_map([](const std::pair<T, std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>& kv,
                   Emit<T>& out) {
        if (!kv.second.second.empty()) return;
        for (size_t i = 0; i < kv.second.first.size(); ++i) out(kv.first);
      });
}

template <class T>
auto Dataset<T>::keys() const {
  using K = typename internal::PairTraits<T>::Key;
  return map([](T kv) -> K { return std::move(kv.first); });
}

template <class T>
auto Dataset<T>::values() const {
  using V = typename internal::PairTraits<T>::Value;
  return map([](T kv) -> V { return std::move(kv.second); });
}

template <class T>
template <class F>
auto Dataset<T>::flat_map_values(F f) const {
  using K = typename internal::PairTraits<T>::Key;
  using V = typename internal::PairTraits<T>::Value;
  using U = std::decay_t<std::ranges::range_value_t<std::invoke_result_t<F&, const V&>>>;
  auto g = [f](const std::pair<K, V>& kv, Emit<std::pair<K, U>>& out) mutable {
    for (auto&& u : f(kv.second)) out(std::pair<K, U>(kv.first, std::forward<decltype(u)>(u)));
  };
  using G = decltype(g);
  return Narrow<std::pair<K, U>>(
      runtime::MakeOp<runtime::FlatMapEmitOp<T, std::pair<K, U>, G>>(runtime::EncodeClosure(g)),
      "flat_map_values", /*keeps_keys=*/true);
}

template <class T>
Dataset<std::vector<T>> Dataset<T>::glom() const {
  return map_partitions(
      [](std::vector<T> part) { return std::vector<std::vector<T>>{std::move(part)}; });
}

template <class T>
Dataset<T> Dataset<T>::distinct(int partitions) const {
  return map([](T x) { return std::pair<T, bool>(std::move(x), false); })
      .reduce_by_key([](bool a, bool) { return a; }, partitions)
      .keys();
}

template <class T>
template <class F>
Dataset<T> Dataset<T>::sort_by(F f, bool ascending, int partitions) const {
  return key_by(f).sort_by_key(ascending, partitions).values();
}

template <class T>
template <class Create, class MergeValue, class MergeCombiners>
auto Dataset<T>::combine_by_key(Create create, MergeValue merge_value,
                                MergeCombiners merge_combiners, int partitions) const {
  using K = typename internal::PairTraits<T>::Key;
  using V = typename internal::PairTraits<T>::Value;
  using C = std::decay_t<std::invoke_result_t<Create&, V&&>>;
  using Fns = runtime::CombineFns<Create, MergeValue>;
  auto dep = NewShuffle<runtime::CombineShuffleSink<K, V, Fns, C>>(
      Partitions(partitions), runtime::EncodeClosure(Fns{create, merge_value}));
  return Shuffled<std::pair<K, C>>(
      runtime::MakeOp<runtime::ReduceByKeySource<K, C, MergeCombiners>>(
          runtime::EncodeClosure(merge_combiners)),
      {dep}, "combine_by_key", {}, /*by_key=*/true);
}

template <class T>
template <class U, class Seq, class Comb>
auto Dataset<T>::aggregate_by_key(U zero, Seq seq, Comb comb, int partitions) const {
  using V = typename internal::PairTraits<T>::Value;
  auto create = [zero, seq](V v) mutable { return seq(U(zero), std::move(v)); };
  return combine_by_key(create, seq, comb, partitions);
}

template <class T>
template <class Z, class F>
Dataset<T> Dataset<T>::fold_by_key(Z zero, F f, int partitions) const {
  using V = typename internal::PairTraits<T>::Value;
  return aggregate_by_key(V(zero), f, f, partitions);
}

}  // namespace kiln
