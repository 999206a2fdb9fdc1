#pragma once
// Cuts the plan into stages: a stage is the chain of operators from a source (input
// splits or a shuffle read) through every narrow operator to a sink (a shuffle write or
// a result), run as one fused task per partition.
//
// Coalesces and persisted datasets are boundaries inside the chain: a coalesced
// partition runs the operators below it once per merged partition, and a persisted
// dataset gets a cache point after its operator, which replays the partition where an
// executor holds it and computes (and caches) it otherwise. Each task's split is a
// tree that mirrors these boundaries (see runtime/task_runner.h).

#include <memory>
#include <string>
#include <vector>

#include "driver/cache_tracker.h"
#include "driver/map_output_tracker.h"
#include "driver/plan.h"

namespace kiln::internal {

struct StageTemplate {
  struct Boundary {
    const PlanNode* node = nullptr;  // the coalesce, or the persisted dataset
    bool cache = false;              // a cache point (else a coalesce)
    size_t op = 0;                   // its index in ops
  };
  struct Read {
    size_t op = 0;                   // an operator that reads shuffles
    const PlanNode* node = nullptr;  // its node (deps, params_prefix)
  };
  std::string name;                      // the last node's name ("map", "reduce_by_key")
  std::shared_ptr<const PlanNode> root;  // a kSource or kShuffled node
  std::vector<runtime::OpSpec> ops;      // ops[0] = root's source, last = the sink
  std::vector<Boundary> boundaries;      // innermost (nearest the source) first
  std::vector<Read> reads;               // the shuffled root and narrow joins
  int num_partitions = 0;                // tasks of the stage
};

// `cache` (may be null) says which datasets are persisted.
StageTemplate BuildStage(const std::shared_ptr<const PlanNode>& last, const runtime::OpSpec& sink,
                         const CacheTracker* cache);

// The encoded split of one task of the stage.
std::string TaskSplit(const StageTemplate& stage, int partition);

// Executors holding cached input of the task, most blocks first (empty: no preference).
std::vector<std::string> PreferredExecutors(const StageTemplate& stage, int partition,
                                            const CacheTracker& cache);
// True when every given task reads only cached blocks, so the stages below the cache
// points need not run.
bool ReadsOnlyCache(const StageTemplate& stage, const std::vector<int>& partitions,
                    const CacheTracker& cache);
// The shuffles the given tasks need: all that the stage reads, but those read below
// every cache point when `cache` (may be null: no skipping) says the tasks read only
// cached blocks.
std::vector<const ShuffleDependency*> NeededShuffles(const StageTemplate& stage,
                                                     const std::vector<int>& partitions,
                                                     const CacheTracker* cache);

// The plan of one stage attempt: the template's operators, with a shuffled root's
// source given the current locations of its map outputs.
proto::StagePlan MakeStagePlan(const StageTemplate& stage, int stage_id, int attempt,
                               const MapOutputTracker& tracker);

}  // namespace kiln::internal
