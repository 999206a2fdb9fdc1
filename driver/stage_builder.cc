#include "driver/stage_builder.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "common/codec.h"
#include "common/strings.h"
#include "runtime/shuffle_params.h"
#include "runtime/task_runner.h"

namespace kiln::internal {

namespace {

using Segment = StageTemplate::Segment;

// Appends the operators that compute `node` (and what it needs below, down to the
// stage's sources) to `stage`; returns the segment that ends with them.
class StageCutter {
 public:
  StageCutter(StageTemplate* stage, const CacheTracker* cache) : stage_(stage), cache_(cache) {}

  size_t Cut(const PlanNode* node) {
    std::vector<const PlanNode*> narrow;  // outermost first
    while (node->kind == PlanNode::Kind::kNarrow) {
      narrow.push_back(node);
      node = node->parent.get();
    }
    size_t segment = 0;
    switch (node->kind) {
      case PlanNode::Kind::kCoalesce:
        segment = NewSegment(Segment::Kind::kMerge, node, {Cut(node->parent.get())});
        break;
      case PlanNode::Kind::kUnion: {
        std::vector<size_t> children;
        for (const auto& input : node->inputs) children.push_back(Cut(input.get()));
        segment = NewSegment(Segment::Kind::kMerge, node, std::move(children));
        break;
      }
      default:
        segment = NewSegment(Segment::Kind::kSource, node, {});
        break;
    }
    segment = Add(node, segment);
    for (auto it = narrow.rbegin(); it != narrow.rend(); ++it) segment = Add(*it, segment);
    return segment;
  }

 private:
  size_t NewSegment(Segment::Kind kind, const PlanNode* node, std::vector<size_t> children) {
    stage_->segments.push_back({kind, node, stage_->ops.size(), std::move(children)});
    return stage_->segments.size() - 1;
  }

  // Adds the node's operator to `segment`, and a cache point after it if the node is
  // persisted; returns the segment that goes on above it.
  size_t Add(const PlanNode* node, size_t segment) {
    stage_->ops.push_back(node->op);
    if (!node->deps.empty()) stage_->reads.push_back({stage_->ops.size() - 1, node, segment});
    std::optional<runtime::OpSpec> cache_op = cache_ ? cache_->CacheOp(node->id) : std::nullopt;
    if (!cache_op) return segment;
    segment = NewSegment(Segment::Kind::kCache, node, {segment});
    stage_->ops.push_back(std::move(*cache_op));
    return segment;
  }

  StageTemplate* stage_;
  const CacheTracker* cache_;
};

}  // namespace

StageTemplate BuildStage(const std::shared_ptr<const PlanNode>& last, const runtime::OpSpec& sink,
                         const CacheTracker* cache) {
  StageTemplate stage;
  stage.name = last->name;
  stage.num_partitions = last->num_partitions;
  stage.last = last;
  StageCutter(&stage, cache).Cut(last.get());
  stage.ops.push_back(sink);
  return stage;
}

namespace {

// The split unit of `segment` for `partition` of the dataset it computes (narrow
// operators keep partition numbers).
std::string Unit(const StageTemplate& stage, size_t segment, int partition) {
  const Segment& seg = stage.segments[segment];
  switch (seg.kind) {
    case Segment::Kind::kSource: {
      if (seg.node->kind == PlanNode::Kind::kSource) {
        return runtime::EncodeSourceUnit(partition, seg.node->splits[partition]);
      }
      std::string s;
      Writer(&s).PutVarint(static_cast<uint64_t>(partition));
      return runtime::EncodeSourceUnit(partition, s);
    }
    case Segment::Kind::kCache:
      return runtime::EncodeCacheUnit(partition, Unit(stage, seg.children[0], partition));
    case Segment::Kind::kMerge: {
      std::vector<std::pair<size_t, std::string>> parents;
      for (int parent : seg.node->groups[partition]) {
        auto [input, q] = MergeInput(*seg.node, parent);
        parents.emplace_back(seg.children[input], Unit(stage, seg.children[input], q));
      }
      return runtime::EncodeMergeUnit(partition, parents);
    }
  }
  return "";
}

// Walks the segments a task computing `partition` of `segment` runs, top down:
// `visit(segment, partition)` says whether the task goes below it (false at a cache
// point whose block it replays).
template <class F>
void Walk(const StageTemplate& stage, size_t segment, int partition, F& visit) {
  if (!visit(segment, partition)) return;
  const Segment& seg = stage.segments[segment];
  if (seg.kind == Segment::Kind::kCache) {
    Walk(stage, seg.children[0], partition, visit);
  } else if (seg.kind == Segment::Kind::kMerge) {
    for (int parent : seg.node->groups[partition]) {
      auto [input, q] = MergeInput(*seg.node, parent);
      Walk(stage, seg.children[input], q, visit);
    }
  }
}

// Where some executor holds the block of a cache point's `partition` (empty: none, or
// `segment` is no cache point).
std::vector<std::string> CachedAt(const StageTemplate& stage, size_t segment, int partition,
                                  const CacheTracker& cache) {
  const Segment& seg = stage.segments[segment];
  if (seg.kind != Segment::Kind::kCache) return {};
  return cache.Locations(seg.node->id, partition);
}

size_t Top(const StageTemplate& stage) { return stage.segments.size() - 1; }

}  // namespace

std::pair<size_t, int> MergeInput(const PlanNode& node, int partition) {
  if (node.kind == PlanNode::Kind::kCoalesce) return {0, partition};
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (partition < node.inputs[i]->num_partitions) return {i, partition};
    partition -= node.inputs[i]->num_partitions;
  }
  return {node.inputs.size(), partition};  // out of range: a caller's bug
}

std::string TaskSplit(const StageTemplate& stage, int partition) {
  return Unit(stage, Top(stage), partition);
}

std::vector<std::string> PreferredExecutors(const StageTemplate& stage, int partition,
                                            const CacheTracker& cache) {
  std::vector<std::pair<int, std::string>> counts;  // (-blocks, executor)
  auto visit = [&](size_t segment, int p) {
    std::vector<std::string> at = CachedAt(stage, segment, p, cache);
    for (const std::string& id : at) {
      auto it = std::find_if(counts.begin(), counts.end(), [&](auto& c) { return c.second == id; });
      if (it == counts.end())
        counts.emplace_back(-1, id);
      else
        --it->first;
    }
    return at.empty();  // the task replays the outermost cached blocks
  };
  Walk(stage, Top(stage), partition, visit);
  std::stable_sort(counts.begin(), counts.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& c : counts) out.push_back(std::move(c.second));
  return out;
}

std::vector<const ShuffleDependency*> NeededShuffles(const StageTemplate& stage,
                                                     const std::vector<int>& partitions,
                                                     const CacheTracker* cache) {
  std::vector<bool> runs(stage.segments.size(), false);
  auto visit = [&](size_t segment, int p) {
    runs[segment] = true;
    return cache == nullptr || CachedAt(stage, segment, p, *cache).empty();
  };
  for (int p : partitions) Walk(stage, Top(stage), p, visit);
  std::vector<const ShuffleDependency*> out;
  for (const StageTemplate::Read& read : stage.reads) {
    if (!runs[read.segment]) continue;
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
