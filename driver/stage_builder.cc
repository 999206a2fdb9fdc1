#include "driver/stage_builder.h"

#include <algorithm>

#include "common/codec.h"
#include "common/strings.h"
#include "worker/runtime/task_runner.h"

namespace kiln::internal {

StageTemplate BuildStage(const std::shared_ptr<const PlanNode>& last, const proto::OpSpec& sink) {
  StageTemplate stage;
  stage.name = last->name;
  std::vector<proto::OpSpec> reversed = {sink};
  std::vector<const PlanNode*> coalesces;  // outermost first
  std::shared_ptr<const PlanNode> node = last;
  while (node->kind == PlanNode::Kind::kNarrow || node->kind == PlanNode::Kind::kCoalesce) {
    if (node->kind == PlanNode::Kind::kNarrow) {
      reversed.push_back(node->op);
    } else {
      // Only the outermost coalesce marks where per-parent-partition operators end;
      // inner ones just merge more parent partitions into each task.
      if (coalesces.empty()) reversed.push_back(node->op);
      coalesces.push_back(node.get());
    }
    node = node->parent;
  }
  reversed.push_back(node->op);
  stage.root = node;
  stage.ops.assign(reversed.rbegin(), reversed.rend());
  for (int p = 0; p < last->num_partitions; ++p) {
    std::vector<int> parts = {p};
    for (const PlanNode* c : coalesces) {
      std::vector<int> expanded;
      for (int q : parts) {
        expanded.insert(expanded.end(), c->groups[q].begin(), c->groups[q].end());
      }
      parts = std::move(expanded);
    }
    stage.root_partitions.push_back(std::move(parts));
  }
  return stage;
}

std::string TaskSplit(const StageTemplate& stage, int partition) {
  std::vector<std::string> splits;
  for (int p : stage.root_partitions[partition]) {
    if (stage.root->kind == PlanNode::Kind::kSource) {
      splits.push_back(stage.root->splits[p]);
    } else {
      std::string s;
      Writer(&s).PutVarint(static_cast<uint64_t>(p));
      splits.push_back(std::move(s));
    }
  }
  return runtime::EncodeSplits(splits);
}

proto::StagePlan MakeStagePlan(const StageTemplate& stage, int stage_id, int attempt,
                               const MapOutputTracker& tracker) {
  proto::StagePlan plan;
  plan.set_stage_id(stage_id);
  plan.set_stage_key(StrCat(stage_id, ".", attempt));
  for (const proto::OpSpec& op : stage.ops) *plan.add_ops() = op;
  if (stage.root->kind == PlanNode::Kind::kShuffled) {
    std::vector<std::string> reads;
    for (const auto& dep : stage.root->deps) {
      reads.push_back(tracker.Locations(dep->shuffle_id).SerializeAsString());
    }
    std::string params = stage.root->params_prefix + EncodeAll(reads);
    plan.mutable_ops(0)->set_params(std::move(params));
  }
  return plan;
}

}  // namespace kiln::internal
