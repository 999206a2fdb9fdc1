#pragma once
// The driver's logical plan: a DAG of type-erased nodes that Dataset<T> builds. Each
// node knows how many partitions it has and how to compute them: from input splits (a
// source), from its parent record by record (narrow, fused into the parent's tasks), by
// merging its parent's partitions (coalesce, no shuffle), by taking the partitions of
// several parents one after the other (union, no shuffle), or by reading shuffles (wide).
// Nodes are immutable once built and shared between datasets.

#include <memory>
#include <string>
#include <vector>

#include "runtime/op_registry.h"

namespace kiln::internal {

struct PlanNode;

// A shuffle: the records of `map_side` partitioned into `num_partitions` by `write_op`.
// Its map outputs, once computed, are reused by every job that needs them.
struct ShuffleDependency {
  int shuffle_id = 0;
  std::shared_ptr<const PlanNode> map_side;
  runtime::OpSpec write_op;  // a shuffle sink; params = ShuffleWriteParams
  int num_partitions = 0;
};

struct PlanNode {
  enum class Kind { kSource, kNarrow, kCoalesce, kUnion, kShuffled };

  Kind kind = Kind::kSource;
  int id = 0;
  int num_partitions = 0;
  std::string name;  // for logs and the UI: "text_file", "map", "reduce_by_key", ...

  // kSource: the source operator and one split per partition.
  // kNarrow: the operator. kCoalesce, kUnion: the boundary operator.
  // kShuffled: the reduce-side source; its params are `params_prefix` followed by the
  // encoded ShuffleReadParams of each dependency, filled in when a stage runs. A
  // kNarrow node may read shuffles too (a join whose other side is partitioned like
  // this one), with params made the same way.
  runtime::OpSpec op;
  std::vector<std::string> splits;
  std::shared_ptr<const PlanNode> parent;  // kNarrow, kCoalesce
  // kCoalesce, kUnion: the parent partitions of each partition. A union numbers its
  // inputs' partitions one after the other: 0..n0-1 are inputs[0]'s, the next n1 are
  // inputs[1]'s, and so on.
  std::vector<std::vector<int>> groups;
  std::vector<std::shared_ptr<const PlanNode>> inputs;   // kUnion
  std::vector<std::shared_ptr<ShuffleDependency>> deps;  // kShuffled, kNarrow
  std::string params_prefix;                             // with deps
  // > 0: the records are (key, value) pairs, each in partition KeyHash(key) % this
  // (Spark's HashPartitioner), so a join with a dataset placed the same way needs no
  // shuffle of this side.
  int key_partitions = 0;
};

}  // namespace kiln::internal
