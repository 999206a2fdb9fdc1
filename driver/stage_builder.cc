#include "driver/stage_builder.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "common/codec.h"
#include "common/strings.h"
#include "worker/runtime/task_runner.h"

namespace kiln::internal {

StageTemplate BuildStage(const std::shared_ptr<const PlanNode>& last, const proto::OpSpec& sink,
                         const CacheTracker* cache) {
  StageTemplate stage;
  stage.name = last->name;
  stage.num_partitions = last->num_partitions;
  std::vector<proto::OpSpec> reversed = {sink};
  std::vector<StageTemplate::Boundary> boundaries;  // outermost first
  auto add = [&](const PlanNode* node) {
    std::optional<proto::OpSpec> cache_op = cache ? cache->CacheOp(node->id) : std::nullopt;
    if (cache_op) {
      reversed.push_back(std::move(*cache_op));
      boundaries.push_back({node, true});
    }
    reversed.push_back(node->op);
    if (node->kind == PlanNode::Kind::kCoalesce) boundaries.push_back({node, false});
  };
  std::shared_ptr<const PlanNode> node = last;
  while (node->kind == PlanNode::Kind::kNarrow || node->kind == PlanNode::Kind::kCoalesce) {
    add(node.get());
    node = node->parent;
  }
  add(node.get());
  stage.root = node;
  stage.ops.assign(reversed.rbegin(), reversed.rend());
  stage.boundaries.assign(boundaries.rbegin(), boundaries.rend());
  return stage;
}

namespace {

// The split unit of boundary level `level` (0 = the root's split) for `partition` of
// the dataset at that level (narrow operators keep partition numbers).
std::string Unit(const StageTemplate& stage, size_t level, int partition) {
  if (level == 0) {
    if (stage.root->kind == PlanNode::Kind::kSource) return stage.root->splits[partition];
    std::string s;
    Writer(&s).PutVarint(static_cast<uint64_t>(partition));
    return s;
  }
  const StageTemplate::Boundary& b = stage.boundaries[level - 1];
  if (b.cache) return runtime::EncodeCacheUnit(partition, Unit(stage, level - 1, partition));
  std::vector<std::string> parents;
  for (int q : b.node->groups[partition]) parents.push_back(Unit(stage, level - 1, q));
  return runtime::EncodeCoalesceUnit(parents);
}

// Visits the outermost cached blocks the task reads: `on_cached(locations)` for each;
// returns false if some input below every cache point is not cached.
template <class F>
bool VisitCached(const StageTemplate& stage, size_t level, int partition,
                 const CacheTracker& cache, F& on_cached) {
  if (level == 0) return false;
  const StageTemplate::Boundary& b = stage.boundaries[level - 1];
  if (b.cache) {
    std::vector<std::string> at = cache.Locations(b.node->id, partition);
    if (!at.empty()) {
      on_cached(at);
      return true;
    }
    return VisitCached(stage, level - 1, partition, cache, on_cached);
  }
  bool all = true;
  for (int q : b.node->groups[partition]) {
    all = VisitCached(stage, level - 1, q, cache, on_cached) && all;
  }
  return all;
}

}  // namespace

std::string TaskSplit(const StageTemplate& stage, int partition) {
  return Unit(stage, stage.boundaries.size(), partition);
}

std::vector<std::string> PreferredExecutors(const StageTemplate& stage, int partition,
                                            const CacheTracker& cache) {
  std::vector<std::pair<int, std::string>> counts;  // (-blocks, executor)
  auto on_cached = [&](const std::vector<std::string>& at) {
    for (const std::string& id : at) {
      auto it = std::find_if(counts.begin(), counts.end(), [&](auto& c) { return c.second == id; });
      if (it == counts.end()) counts.emplace_back(-1, id);
      else --it->first;
    }
  };
  VisitCached(stage, stage.boundaries.size(), partition, cache, on_cached);
  std::stable_sort(counts.begin(), counts.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& c : counts) out.push_back(std::move(c.second));
  return out;
}

bool ReadsOnlyCache(const StageTemplate& stage, const std::vector<int>& partitions,
                    const CacheTracker& cache) {
  if (stage.boundaries.empty()) return false;
  auto ignore = [](const std::vector<std::string>&) {};
  for (int p : partitions) {
    if (!VisitCached(stage, stage.boundaries.size(), p, cache, ignore)) return false;
  }
  return true;
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
      reads.push_back(tracker.Locations(dep->shuffle_id, dep->map_side->num_partitions).SerializeAsString());
    }
    std::string params = stage.root->params_prefix + EncodeAll(reads);
    plan.mutable_ops(0)->set_params(std::move(params));
  }
  return plan;
}

}  // namespace kiln::internal
