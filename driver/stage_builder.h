#pragma once
// Cuts the plan into stages: a stage is the chain of operators from a source (input
// splits or a shuffle read) through every narrow operator to a sink (a shuffle write or
// a result), run as one fused task per partition.

#include <memory>
#include <string>
#include <vector>

#include "driver/map_output_tracker.h"
#include "driver/plan.h"

namespace kiln::internal {

struct StageTemplate {
  std::string name;                          // the last node's name ("map", "reduce_by_key")
  std::shared_ptr<const PlanNode> root;      // a kSource or kShuffled node
  std::vector<proto::OpSpec> ops;            // ops[0] = root's source, last = the sink
  // For each partition of the stage, the root partitions it reads (one, or several
  // through coalesce).
  std::vector<std::vector<int>> root_partitions;
};

StageTemplate BuildStage(const std::shared_ptr<const PlanNode>& last, const proto::OpSpec& sink);

// The encoded split list of one task of the stage.
std::string TaskSplit(const StageTemplate& stage, int partition);

// The plan of one stage attempt: the template's operators, with a shuffled root's
// source given the current locations of its map outputs.
proto::StagePlan MakeStagePlan(const StageTemplate& stage, int stage_id, int attempt,
                               const MapOutputTracker& tracker);

}  // namespace kiln::internal
