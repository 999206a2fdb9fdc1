#pragma once
// Cuts the plan into stages: a stage is the chain of operators from a source (input
// splits or a shuffle read) through every narrow operator to a sink (a shuffle write or
// a result), run as one fused task per partition.
//
// Coalesces, persisted datasets and unions are boundaries inside the chain: a coalesced
// partition runs the operators below it once per merged partition; a persisted dataset
// gets a cache point after its operator, which replays the partition where an executor
// holds it and computes (and caches) it otherwise; a union's partition runs the chain of
// the one input it comes from, so a stage is a tree of chains. Each task's split is a
// tree that mirrors these boundaries (see runtime/task_runner.h).

#include <memory>
#include <string>
#include <vector>

#include "driver/cache_tracker.h"
#include "driver/map_output_tracker.h"
#include "driver/plan.h"

namespace kiln::internal {

struct StageTemplate {
  // A run of operators that runs once per unit of a task's split (see
  // runtime/task_runner.h). A source segment starts at a source (input splits or a
  // shuffle read); the others start at a boundary operator and are fed by child
  // segments: a merge (coalesce, union) by a child run once per parent partition (a
  // union has one child per input dataset), a cache point by one child run only when no
  // block is there.
  struct Segment {
    enum class Kind { kSource, kMerge, kCache };
    Kind kind = Kind::kSource;
    const PlanNode* node = nullptr;  // the root, the coalesce or union, the persisted dataset
    size_t op = 0;                   // its first operator in ops
    std::vector<size_t> children;    // the segments feeding it (indices into segments)
  };
  struct Read {
    size_t op = 0;                   // an operator that reads shuffles
    const PlanNode* node = nullptr;  // its node (deps, params_prefix)
    size_t segment = 0;              // the segment it runs in
  };
  std::string name;                      // the last node's name ("map", "reduce_by_key")
  std::shared_ptr<const PlanNode> last;  // keeps the nodes the segments point to alive
  std::vector<runtime::OpSpec> ops;      // segments' operators, one after the other; last = sink
  std::vector<Segment> segments;         // in operator order: children before their parent;
                                         // the last one ends at the sink
  std::vector<Read> reads;               // shuffled roots and narrow joins, in operator order
  int num_partitions = 0;                // tasks of the stage
};

// `cache` (may be null) says which datasets are persisted.
StageTemplate BuildStage(const std::shared_ptr<const PlanNode>& last, const runtime::OpSpec& sink,
                         const CacheTracker* cache);

// Which input of a coalesce or union node (an index into inputs; 0 = a coalesce's
// parent) holds parent partition `partition` (an entry of its groups), and that input's
// partition number.
std::pair<size_t, int> MergeInput(const PlanNode& node, int partition);

// The encoded split of one task of the stage.
std::string TaskSplit(const StageTemplate& stage, int partition);

// Executors holding cached input of the task, most blocks first (empty: no preference).
std::vector<std::string> PreferredExecutors(const StageTemplate& stage, int partition,
                                            const CacheTracker& cache);
// The shuffles the given tasks read: those of the segments they run, which are not
// those below a cache point whose block some executor holds when `cache` is given (null:
// no skipping, as after a fetch failure showed a block gone).
std::vector<const ShuffleDependency*> NeededShuffles(const StageTemplate& stage,
                                                     const std::vector<int>& partitions,
                                                     const CacheTracker* cache);

// The plan of one stage attempt: the template's operators, with a shuffled root's
// source given the current locations of its map outputs.
proto::StagePlan MakeStagePlan(const StageTemplate& stage, int stage_id, int attempt,
                               const MapOutputTracker& tracker);

}  // namespace kiln::internal
