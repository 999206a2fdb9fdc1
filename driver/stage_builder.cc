#include "driver/stage_builder.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "common/codec.h"
#include "common/strings.h"
#include "runtime/shuffle_params.h"
#include "runtime/task_runner.h"

namespace kiln::internal {

StageTemplate BuildStage(const std::shared_ptr<const PlanNode>& last, const runtime::OpSpec& sink,
                         const CacheTracker* cache) {
  StageTemplate stage;
  stage.name = last->name;
  stage.num_partitions = last->num_partitions;
  std::vector<runtime::OpSpec> reversed = {sink};
  // Indices count from the sink while walking back; fixed up once the length is known.
  std::vector<StageTemplate::Boundary> boundaries;  // outermost first
  std::vector<StageTemplate::Read> reads;
  auto add = [&](const PlanNode* node) {
    std::optional<runtime::OpSpec> cache_op = cache ? cache->CacheOp(node->id) : std::nullopt;
    if (cache_op) {
      reversed.push_back(std::move(*cache_op));
      boundaries.push_back({node, true, reversed.size() - 1});
    }
    reversed.push_back(node->op);
    if (node->kind == PlanNode::Kind::kCoalesce) {
      boundaries.push_back({node, false, reversed.size() - 1});
    }
    if (!node->deps.empty()) reads.push_back({reversed.size() - 1, node});
  };
  std::shared_ptr<const PlanNode> node = last;
  while (node->kind == PlanNode::Kind::kNarrow || node->kind == PlanNode::Kind::kCoalesce) {
    add(node.get());
    node = node->parent;
  }
  add(node.get());
  stage.root = node;
  stage.ops.assign(reversed.rbegin(), reversed.rend());
  const size_t last_op = stage.ops.size() - 1;
  for (auto& b : boundaries) b.op = last_op - b.op;
  for (auto& r : reads) r.op = last_op - r.op;
  stage.boundaries.assign(boundaries.rbegin(), boundaries.rend());
  stage.reads.assign(reads.rbegin(), reads.rend());
  return stage;
}

namespace {

// The split unit of boundary level `level` (0 = the root's split) for `partition` of
// the dataset at that level (narrow operators keep partition numbers).
std::string Unit(const StageTemplate& stage, size_t level, int partition) {
  if (level == 0) {
    if (stage.root->kind == PlanNode::Kind::kSource) {
      return runtime::EncodeSourceUnit(partition, stage.root->splits[partition]);
    }
    std::string s;
    Writer(&s).PutVarint(static_cast<uint64_t>(partition));
    return runtime::EncodeSourceUnit(partition, s);
  }
  const StageTemplate::Boundary& b = stage.boundaries[level - 1];
  if (b.cache) return runtime::EncodeCacheUnit(partition, Unit(stage, level - 1, partition));
  std::vector<std::string> parents;
  for (int q : b.node->groups[partition]) parents.push_back(Unit(stage, level - 1, q));
  return runtime::EncodeCoalesceUnit(partition, parents);
}

// Visits the outermost cached blocks the task reads: `on_cached(locations)` for each;
// returns false if some input below every cache point is not cached.
template <class F>
bool VisitCached(const StageTemplate& stage, size_t level, int partition, const CacheTracker& cache,
                 F& on_cached) {
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
      if (it == counts.end())
        counts.emplace_back(-1, id);
      else
        --it->first;
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

std::vector<const ShuffleDependency*> NeededShuffles(const StageTemplate& stage,
                                                     const std::vector<int>& partitions,
                                                     const CacheTracker* cache) {
  size_t below = 0;  // operators below the innermost cache point never run
  if (cache != nullptr && ReadsOnlyCache(stage, partitions, *cache)) {
    for (const auto& b : stage.boundaries) {
      if (b.cache) {
        below = b.op;
        break;
      }
    }
  }
  std::vector<const ShuffleDependency*> out;
  for (const StageTemplate::Read& read : stage.reads) {
    if (read.op < below) continue;
    for (const auto& dep : read.node->deps) out.push_back(dep.get());
  }
  return out;
}

proto::StagePlan MakeStagePlan(const StageTemplate& stage, int stage_id, int attempt,
                               const MapOutputTracker& tracker) {
  proto::StagePlan plan;
  plan.set_stage_id(stage_id);
  plan.set_stage_key(StrCat(stage_id, ".", attempt));
  for (const runtime::OpSpec& op : stage.ops) {
    proto::OpSpec* spec = plan.add_ops();
    spec->set_kind(op.kind);
    spec->set_closure(op.closure);
    spec->set_params(op.params);
  }
  for (const StageTemplate::Read& read : stage.reads) {
    std::vector<runtime::ShuffleReadParams> locations;
    for (const auto& dep : read.node->deps) {
      locations.push_back(tracker.Locations(dep->shuffle_id, dep->map_side->num_partitions));
    }
    plan.mutable_ops(static_cast<int>(read.op))
        ->set_params(runtime::AppendReadParams(read.node->params_prefix, locations));
  }
  return plan;
}

}  // namespace kiln::internal
