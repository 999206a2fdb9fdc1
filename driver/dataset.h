#pragma once
// Dataset<T>: a typed, immutable, lazily evaluated, partitioned collection (Spark's
// RDD). Transformations build a plan; actions (count, collect, take, reduce,
// save_as_text_file, foreach) run it as a job on the cluster.
//
// Functions given to transformations run on executors: they must be shippable (see
// runtime/closure.h: capture numbers and other trivially copyable values by
// value). Record types need a codec (common/codec.h). Datasets are cheap to copy.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/codec.h"
#include "driver/job_runner.h"
#include "driver/plan.h"
#include "driver/stat_counter.h"
#include "runtime/closure.h"
#include "runtime/emit.h"
#include "runtime/op_registry.h"
#include "runtime/ops_cache.h"
#include "runtime/ops_join.h"
#include "runtime/ops_map_partitions.h"
#include "runtime/ops_narrow.h"
#include "runtime/ops_object.h"
#include "runtime/ops_shuffle_read.h"
#include "runtime/ops_shuffle_write.h"
#include "runtime/ops_sink.h"
#include "runtime/ops_source.h"

namespace kiln {

template <class T>
class Dataset;

namespace internal {

template <class T>
struct PairTraits {
  static constexpr bool kIsPair = false;
};
template <class K, class V>
struct PairTraits<std::pair<K, V>> {
  static constexpr bool kIsPair = true;
  using Key = K;
  using Value = V;
};

}  // namespace internal

template <class T>
class Dataset {
 public:
  using value_type = T;

  Dataset(internal::JobRunner* runner, std::shared_ptr<const internal::PlanNode> node)
      : runner_(runner), node_(std::move(node)) {}

  int num_partitions() const { return node_->num_partitions; }

  // ------------------------------------------------------------ narrow

  // f(T) -> U for every record.
  template <class F>
  auto map(F f) const {
    using U = std::decay_t<std::invoke_result_t<F&, T&&>>;
    return Narrow<U>(runtime::MakeOp<runtime::MapOp<T, U, F>>(runtime::EncodeClosure(f)), "map");
  }

  // Keeps the records for which f(const T&) is true. Keeps the placement of keys by
  // hash too (see join).
  template <class F>
  Dataset<T> filter(F f) const {
    return Narrow<T>(runtime::MakeOp<runtime::FilterOp<T, F>>(runtime::EncodeClosure(f)), "filter",
                     /*keeps_keys=*/true);
  }

  // (k, f(v)) for every pair (k, v). Unlike map, it keeps the placement of keys by
  // hash, so a later join with a dataset partitioned the same way needs no shuffle of
  // this side (Spark's mapValues).
  template <class F>
  auto map_values(F f) const {
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    using U = std::decay_t<std::invoke_result_t<F&, V&&>>;
    auto g = [f](std::pair<K, V> kv) mutable {
      return std::pair<K, U>(std::move(kv.first), f(std::move(kv.second)));
    };
    return Narrow<std::pair<K, U>>(
        runtime::MakeOp<runtime::MapOp<T, std::pair<K, U>, decltype(g)>>(runtime::EncodeClosure(g)),
        "map_values", /*keeps_keys=*/true);
  }

  // Zero or more records per record: f(const T&, kiln::Emit<U>&) emitting each output
  // (fastest: no container per record), or f(const T&) returning a range of U.
  template <class F>
  auto flat_map(F f) const {
    using E = runtime::EmitTargetT<F>;
    if constexpr (!std::is_void_v<E>) {
      return Narrow<E>(runtime::MakeOp<runtime::FlatMapEmitOp<T, E, F>>(runtime::EncodeClosure(f)),
                       "flat_map");
    } else {
      using R = std::invoke_result_t<F&, const T&>;
      using U = std::decay_t<std::ranges::range_value_t<R>>;
      return Narrow<U>(runtime::MakeOp<runtime::FlatMapOp<T, U, F>>(runtime::EncodeClosure(f)),
                       "flat_map");
    }
  }

  // f over each whole partition, in one of two forms:
  // - f(kiln::PartitionInput<T>& in, kiln::Emit<U>& out): streams; `in` yields the
  //   partition's records in order, and a partition larger than the task's execution
  //   memory is spilled to disk and read back (runtime/partition_input.h);
  // - f(std::vector<T>) -> std::vector<U>: the whole partition in memory, in and out.
  template <class F>
  auto map_partitions(F f) const {
    using E = runtime::EmitTargetT<F>;
    if constexpr (!std::is_void_v<E>) {
      return Narrow<E>(
          runtime::MakeOp<runtime::MapPartitionsStreamOp<T, E, F>>(runtime::EncodeClosure(f)),
          "map_partitions");
    } else {
      using U = typename std::invoke_result_t<F&, std::vector<T>&&>::value_type;
      return Narrow<U>(
          runtime::MakeOp<runtime::MapPartitionsOp<T, U, F>>(runtime::EncodeClosure(f)),
          "map_partitions");
    }
  }

  // (f(x), x) for every record.
  template <class F>
  auto key_by(F f) const {
    return map([f](T x) {
      auto key = f(std::as_const(x));
      return std::pair<decltype(key), T>(std::move(key), std::move(x));
    });
  }

  // Fewer partitions without a shuffle: partition i merges a contiguous run of the
  // parent's partitions. Asking for as many partitions or more changes nothing (use
  // repartition to grow).
  Dataset<T> coalesce(int partitions) const {
    if (partitions <= 0) runner_->Fail("coalesce: the partition count must be > 0");
    if (partitions >= num_partitions()) return *this;
    auto node = NewNode(internal::PlanNode::Kind::kCoalesce, "coalesce", partitions);
    node->op = runtime::MakeOp<runtime::CoalesceBoundaryOp<T>>();
    node->parent = node_;
    const int64_t parents = num_partitions();
    for (int64_t i = 0; i < partitions; ++i) {
      std::vector<int> group;
      for (int64_t p = i * parents / partitions; p < (i + 1) * parents / partitions; ++p) {
        group.push_back(static_cast<int>(p));
      }
      node->groups.push_back(std::move(group));
    }
    return Dataset<T>(runner_, std::move(node));
  }

  // Spark's union (`union` is a C++ keyword): this dataset's partitions followed by
  // other's, with no shuffle; duplicates stay (distinct() removes them). When both are
  // placed by key hash into the same number of partitions, partition i is both sides'
  // partition i and the result stays placed (Spark's partitioner-aware union).
  Dataset<T> union_(const Dataset<T>& other) const;

  // ------------------------------------------------------------ wide

  // Every pair (t, u) of a record of this dataset and one of `other`, in n x m
  // partitions (n = num_partitions(), m = other.num_partitions()): partition i*m+j pairs
  // this side's partition i with other's partition j, in Spark's order (each t with
  // every u). Unlike Spark, which reads other's partition again for every t, it goes
  // through a shuffle: each record of this side is sent to m tasks, each of other's to n,
  // and a task holds other's partition in its memory. The result has |this| x |other|
  // records; the driver logs a warning with these counts when the plan is built.
  template <class U>
  Dataset<std::pair<T, U>> cartesian(const Dataset<U>& other) const;

  // Exactly `partitions` partitions of about equal size, through a shuffle.
  Dataset<T> repartition(int partitions) const {
    if (partitions <= 0) runner_->Fail("repartition: the partition count must be > 0");
    auto dep = NewShuffle<runtime::RoundRobinShuffleSink<T>>(partitions);
    return Shuffled<T>(runtime::MakeOp<runtime::PassThroughShuffleSource<T>>(), {dep},
                       "repartition");
  }

  // Merges the values of each key with f(V, V) -> V, on the map side first.
  template <class F>
  Dataset<T> reduce_by_key(F f, int partitions = 0) const {
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    std::string closure = runtime::EncodeClosure(f);
    auto dep = NewShuffle<runtime::CombineShuffleSink<K, V, F>>(Partitions(partitions), closure);
    return Shuffled<T>(runtime::MakeOp<runtime::ReduceByKeySource<K, V, F>>(closure), {dep},
                       "reduce_by_key", {}, /*by_key=*/true);
  }

  // (key, every value of the key).
  auto group_by_key(int partitions = 0) const {
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    auto dep = NewShuffle<runtime::HashShuffleSink<K, V>>(Partitions(partitions));
    return Shuffled<std::pair<K, std::vector<V>>>(
        runtime::MakeOp<runtime::GroupByKeySource<K, V>>(), {dep}, "group_by_key", {},
        /*by_key=*/true);
  }

  // Inner join by key: (k, (v, w)) for every v and w with the same key k. Both sides
  // are shuffled by key into `partitions` partitions (0: the partition count of a side
  // already placed by key hash, as reduce_by_key, group_by_key, join and their
  // map_values/filter leave it, else kiln.default.parallelism), except a side already
  // placed that way: it joins where it is, and only the other side moves. When both
  // are, neither moves (Spark's co-partitioned join). The result is placed by key hash
  // too.
  template <class Other>
  auto join(const Other& other, int partitions = 0) const;

  // Left outer join by key: (k, (v, w)) for every match, and (k, (v, nullopt)) for a
  // left record whose key the other side lacks. Partitions as join (a partitioned
  // right side is shuffled all the same, unless both sides are placed alike).
  template <class Other>
  auto left_outer_join(const Other& other, int partitions = 0) const;

  // Right outer join by key: (k, (v, w)) for every match, and (k, (nullopt, w)) for a
  // right record whose key this side lacks. Partitions as join; a right side placed by
  // key hash joins where it is (a partitioned left side is shuffled all the same,
  // unless both sides are placed alike).
  template <class Other>
  auto right_outer_join(const Other& other, int partitions = 0) const;

  // Sorted by key across partitions: partition i holds keys before partition i+1's.
  // The range bounds come from a sample of the keys (a job runs now to take it).
  Dataset<T> sort_by_key(bool ascending = true, int partitions = 0) const;

  // ------------------------------------------------------------ more (dataset_ops.h)

  // Pairs shuffled into `partitions` by the hash of their key (Spark's HashPartitioner):
  // a later join with it moves only the other side.
  Dataset<T> partition_by(int partitions) const;
  // Pairs shuffled into `partitions` by a user's partitioner, f(const K&) -> a partition
  // in [0, partitions) (a task fails on any other value, naming it). The result is not
  // placed by key hash: joins shuffle it again.
  template <class F>
  Dataset<T> partition_by(int partitions, F partitioner) const;
  // Every key of either side with its values on each: (k, (vs, ws)), both sides
  // shuffled by key (placed by key hash into `partitions`, as join's result). A key's
  // values must fit in the task's memory; the rest spills as group_by_key.
  template <class Other>
  auto cogroup(const Other& other, int partitions = 0) const;
  // Full outer join by key, from cogroup: (k, (v, w)) for every match, (k, (v, nullopt))
  // and (k, (nullopt, w)) for a record whose key the other side lacks.
  template <class Other>
  auto full_outer_join(const Other& other, int partitions = 0) const;
  // The records of both datasets, each once (Spark's intersection: no duplicates).
  Dataset<T> intersection(const Dataset<T>& other, int partitions = 0) const;
  // The records of this dataset that `other` lacks, duplicates kept (Spark's subtract).
  Dataset<T> subtract(const Dataset<T>& other, int partitions = 0) const;
  // Spark's pipe: per partition, runs `argv` (no shell; argv[0] found on PATH), writes
  // each record as a line (kiln::ToText) to its stdin and gives the lines of its stdout.
  // Its stderr goes to the executor's log; a command that cannot start or exits non-zero
  // fails the task, naming the command and its exit code.
  Dataset<std::string> pipe(std::vector<std::string> argv) const;
  // Spark's mapPartitionsWithIndex: map_partitions's streaming form told which partition
  // of this dataset it runs on: f(int partition, kiln::PartitionInput<T>& in,
  // kiln::Emit<U>& out).
  template <class F>
  auto map_partitions_with_index(F f) const;
  // (record, index): indexes count from 0 in partition order, then record order. A job
  // runs now to count the records of every partition but the last (Spark's zipWithIndex).
  Dataset<std::pair<T, int64_t>> zip_with_index() const;
  // A seeded sample: each record kept with probability `fraction` (without replacement:
  // 0 <= fraction <= 1), or a Poisson(fraction) number of times (with replacement). The
  // same seed gives the same sample while the partitions hold the same records in the
  // same order, as in Spark.
  Dataset<T> sample(bool with_replacement, double fraction, uint64_t seed) const;
  // The records dealt at random into weights.size() datasets, about in proportion to
  // the weights (>= 0, normalized); each record lands in exactly one (same seed, same
  // caveat as sample).
  std::vector<Dataset<T>> random_split(const std::vector<double>& weights, uint64_t seed) const;

  // The keys, and the values, of a dataset of pairs.
  auto keys() const;
  auto values() const;
  // (k, u) for every u of f(v), for every pair (k, v); keeps the placement of keys by
  // hash, as map_values.
  template <class F>
  auto flat_map_values(F f) const;
  // Each partition as one vector.
  Dataset<std::vector<T>> glom() const;
  // Each record once, through a shuffle into `partitions` (0: kiln.default.parallelism).
  Dataset<T> distinct(int partitions = 0) const;
  // The records sorted by f(record), as sort_by_key sorts by key.
  template <class F>
  Dataset<T> sort_by(F f, bool ascending = true, int partitions = 0) const;
  // Spark's combineByKey: per key, create(v) makes a combiner C of the first value,
  // merge_value(C, v) adds the next ones on the map side, merge_combiners(C, C) merges
  // the map sides' combiners; (k, C) per key. The map side spills as reduce_by_key's.
  template <class Create, class MergeValue, class MergeCombiners>
  auto combine_by_key(Create create, MergeValue merge_value, MergeCombiners merge_combiners,
                      int partitions = 0) const;
  // Spark's aggregateByKey: (k, U) per key, seq(U, v) folding each map side's values
  // into a copy of `zero`, comb(U, U) merging them. `zero` travels in a shipped closure:
  // a number, std::array or plain struct (not std::pair or std::string).
  template <class U, class Seq, class Comb>
  auto aggregate_by_key(U zero, Seq seq, Comb comb, int partitions = 0) const;
  // Spark's foldByKey: as aggregate_by_key(zero, f, f); `zero` should be f's identity
  // (it is folded in once per key per map task).
  template <class Z, class F>
  Dataset<T> fold_by_key(Z zero, F f, int partitions = 0) const;

  // ------------------------------------------------------------ caching

  // Keeps each partition in the memory of the executor that computes it, from the
  // first action that computes it on; later jobs read it there instead of recomputing
  // it, and their tasks go to the executors that hold their partitions (waiting up to
  // kiln.locality.wait for them). Spark's RDD.cache(): MEMORY_ONLY. A partition that
  // does not fit the executor's storage memory (kiln.memory.*), was evicted for more
  // recently used ones, or whose executor was lost, is recomputed from its lineage.
  // Returns this dataset (the same one: caching marks it, as in Spark).
  Dataset<T> cache() const { return persist(StorageLevel::kMemoryOnly); }

  // persist(level): as cache(), at a storage level: kMemoryOnly (cache(); the default,
  // as in Spark), kMemoryAndDisk (a partition that does not fit in storage memory, or
  // that is evicted, is kept on the executor's disk instead of being dropped), kDiskOnly
  // (encoded on the executor's disk). Blocks on disk are lost with their executor.
  Dataset<T> persist(StorageLevel level = StorageLevel::kMemoryOnly) const {
    using CachePoint = runtime::CachePointOp<T>;
    runner_->Persist(*node_,
                     runtime::MakeOp<CachePoint>({}, CachePoint::EncodeParams(node_->id, level)));
    return *this;
  }

  // Stops caching and drops the cached partitions from every executor.
  Dataset<T> unpersist() const {
    runner_->Unpersist(*node_);
    return *this;
  }

  bool is_cached() const { return runner_->IsPersisted(*node_); }

  // ------------------------------------------------------------ actions (dataset_actions.h)

  int64_t count() const;

  // Every record, in partition order, on the driver.
  std::vector<T> collect() const;

  // The first n records in partition order. Like Spark's take, it scans partitions
  // incrementally: one job on the first partition, then jobs on more partitions at a
  // time (up to 4 times as many as scanned so far, fewer when the records found so far
  // say fewer will do) until n records are found or every partition has been read.
  std::vector<T> take(int64_t n) const;

  // Folds all records with f(T, T) -> T (associative and commutative). An empty
  // dataset is an error, as in Spark.
  template <class F>
  T reduce(F f) const;

  // The first record; an empty dataset is an error ("first: empty collection"), as in
  // Spark.
  T first() const;
  // True when the dataset has no record (it reads at most up to the first one).
  bool is_empty() const;
  // How many pairs hold each key, and how many times each record occurs, on the driver.
  auto count_by_key() const;
  std::map<T, int64_t> count_by_value() const;
  // The n smallest records by `less`, in that order; top: the n largest, largest first.
  // Each task keeps only its n best, as Spark's takeOrdered.
  template <class Less = std::less<T>>
  std::vector<T> take_ordered(int64_t n, Less less = {}) const;
  template <class Less = std::less<T>>
  std::vector<T> top(int64_t n, Less less = {}) const;
  // Numbers: the sum (0 when empty, in T: exact for integers), the largest and smallest
  // (an error when empty, as in Spark), the mean (NaN when empty) and all of count, mean,
  // variance, min and max in one job (kiln::StatCounter).
  T sum() const;
  T max() const;
  T min() const;
  double mean() const;
  StatCounter stats() const;

  // Runs f(const T&) on every record, on the executors.
  template <class F>
  void foreach (F f) const;

  // Writes one text file per partition (part-00000, ...) into the new directory `dir`,
  // one line per record (kiln::ToText), then an empty _SUCCESS file. An existing `dir`
  // is refused before any task runs. With kGzip or kZstd each file is compressed and
  // named for it (part-00000.gz, part-00000.zst), as text_file reads it back.
  void save_as_text_file(const std::string& dir,
                         TextCompression compression = TextCompression::kNone) const;

  // Writes the records in Kiln's binary codec (Spark's saveAsObjectFile), one file per
  // partition, committed as save_as_text_file's; Context::object_file<T> reads them back,
  // split by byte ranges. Blocks carry a checksum, and the files the record type.
  void save_as_object_file(const std::string& dir) const;

  const std::shared_ptr<const internal::PlanNode>& node() const { return node_; }

 private:
  template <class U>
  friend class Dataset;

  std::shared_ptr<internal::PlanNode> NewNode(internal::PlanNode::Kind kind, const char* name,
                                              int partitions) const {
    auto node = std::make_shared<internal::PlanNode>();
    node->kind = kind;
    node->id = runner_->NewNodeId();
    node->name = name;
    node->num_partitions = partitions;
    return node;
  }

  template <class U>
  Dataset<U> Narrow(runtime::OpSpec op, const char* name, bool keeps_keys = false) const {
    auto node = NewNode(internal::PlanNode::Kind::kNarrow, name, num_partitions());
    node->op = std::move(op);
    node->parent = node_;
    if (keeps_keys) node->key_partitions = node_->key_partitions;
    return Dataset<U>(runner_, std::move(node));
  }

  template <class Other>
  int JoinPartitions(const Other& other, int requested) const {
    if (requested != 0) return Partitions(requested);
    if (node_->key_partitions > 0) return node_->key_partitions;
    if (other.node_->key_partitions > 0) return other.node_->key_partitions;
    return Partitions(0);
  }

  // Both sides placed by key hash into the r partitions of a join (keys of one type,
  // hashed alike): partition i of the join is partition i of each side, no shuffle.
  template <class Other>
  bool PlacedAlike(const Other& other, int r) const {
    using OtherKey = typename internal::PairTraits<typename Other::value_type>::Key;
    return std::is_same_v<typename internal::PairTraits<T>::Key, OtherKey> &&
           node_->key_partitions == r && other.node_->key_partitions == r &&
           node_->num_partitions == r && other.node_->num_partitions == r;
  }

  // A join of two sides placed alike into r partitions: a boundary whose task computes
  // partition i of both, `build`'s into the join's table, then `stream`'s through it.
  template <class Op, class Stream, class Build>
  static auto JoinInPlace(const Stream& stream, const Build& build, int r, const char* name);

  // A join whose `stay` side is placed by key hash into r partitions: a narrow
  // operator over it reads the shuffled `move` side.
  template <class Op, class Stay, class Move>
  static auto JoinWhereItIs(const Stay& stay, const Move& move, int r, const char* name);

  int Partitions(int requested) const {
    if (requested < 0) runner_->Fail("the partition count must be > 0");
    return requested > 0 ? requested : runner_->DefaultParallelism();
  }

  // A shuffle of this dataset into `partitions`, written by the sink WriteOp.
  template <class WriteOp>
  std::shared_ptr<internal::ShuffleDependency> NewShuffle(int partitions, std::string closure = {},
                                                          std::string bounds = {},
                                                          bool ascending = true) const {
    auto dep = std::make_shared<internal::ShuffleDependency>();
    dep->shuffle_id = runner_->NewShuffleId();
    dep->map_side = node_;
    dep->num_partitions = partitions;
    dep->write_op = runtime::MakeOp<WriteOp>(
        std::move(closure), WriteOp::EncodeParams({.shuffle_id = dep->shuffle_id,
                                                   .num_partitions = partitions,
                                                   .range_bounds = std::move(bounds),
                                                   .ascending = ascending}));
    return dep;
  }

  // by_key: the source places records by the hash of their key.
  template <class U>
  Dataset<U> Shuffled(runtime::OpSpec source,
                      std::vector<std::shared_ptr<internal::ShuffleDependency>> deps,
                      const char* name, std::string prefix = {}, bool by_key = false) const {
    auto node = NewNode(internal::PlanNode::Kind::kShuffled, name, deps[0]->num_partitions);
    node->op = std::move(source);
    node->deps = std::move(deps);
    node->params_prefix = std::move(prefix);
    if (by_key) node->key_partitions = node->num_partitions;
    return Dataset<U>(runner_, std::move(node));
  }

  // Both sides hash-partitioned by key into the same partitions, read by JoinOp<K,V,W>.
  template <template <class, class, class> class JoinOp, class Other>
  auto JoinBy(const Other& other, int r, const char* name) const;

  // Every record folded with f(T, T) -> T; nullopt when there is none.
  template <class F>
  std::optional<T> Fold(F f, const char* action) const;

  // Runs `sink` (its params from params(absolute dir)) into the new output directory
  // `dir` and commits the part files (see JobRunner::StartOutput).
  template <class Params>
  void SaveFiles(const std::string& dir, runtime::OpSpec sink, const char* action,
                 std::string_view extension, Params params) const;

  static constexpr int64_t kTakeScaleUp = 4;  // Spark's spark.rdd.limit.scaleUpFactor

  std::vector<std::string> Run(runtime::OpSpec sink, const char* action) const {
    return runner_->RunJob(node_, sink, action);
  }

  internal::JobRunner* runner_;
  std::shared_ptr<const internal::PlanNode> node_;
};

}  // namespace kiln

#include "driver/dataset_actions.h"  // IWYU pragma: export
#include "driver/dataset_ops.h"      // IWYU pragma: export
