#include "driver/stage_builder.h"

#include "common/codec.h"
#include "tests/driver/test_ops.h"
#include "tests/kiln_catch.h"

namespace kiln::internal {
namespace {

std::shared_ptr<PlanNode> Source(int partitions) {
  auto node = std::make_shared<PlanNode>();
  node->kind = PlanNode::Kind::kSource;
  node->num_partitions = partitions;
  node->op = Op("source");
  for (int p = 0; p < partitions; ++p) node->splits.push_back("split" + std::to_string(p));
  return node;
}

std::shared_ptr<PlanNode> Narrow(std::shared_ptr<const PlanNode> parent, const std::string& kind) {
  auto node = std::make_shared<PlanNode>();
  node->kind = PlanNode::Kind::kNarrow;
  node->num_partitions = parent->num_partitions;
  node->op = Op(kind);
  node->parent = std::move(parent);
  return node;
}

std::shared_ptr<PlanNode> Coalesce(std::shared_ptr<const PlanNode> parent,
                                   std::vector<std::vector<int>> groups) {
  auto node = std::make_shared<PlanNode>();
  node->kind = PlanNode::Kind::kCoalesce;
  node->num_partitions = static_cast<int>(groups.size());
  node->op = Op("boundary");
  node->groups = std::move(groups);
  node->parent = std::move(parent);
  return node;
}

std::vector<std::string> Kinds(const StageTemplate& stage) {
  std::vector<std::string> out;
  for (const auto& op : stage.ops) out.push_back(op.kind);
  return out;
}

// A unit: (partition, the rest).
std::pair<int, std::string> Unit(std::string_view unit) {
  Reader r(unit);
  int partition = static_cast<int>(r.GetVarint());
  std::string rest(r.GetBytes(r.remaining()));
  REQUIRE(r.ok());
  return {partition, rest};
}

// The source splits of source units.
std::vector<std::string> Splits(const std::vector<std::string>& units) {
  std::vector<std::string> out;
  for (const std::string& u : units) out.push_back(Unit(u).second);
  return out;
}

// The parent units of a merged (coalesced or union) unit, each with its segment.
std::vector<std::pair<size_t, std::string>> SegmentsAndParents(std::string_view unit) {
  std::vector<std::pair<size_t, std::string>> out;
  const std::string rest = Unit(unit).second;
  Reader r(rest);
  while (!r.done()) {
    const size_t segment = r.GetVarint();
    std::string parent(r.GetLengthPrefixed());
    REQUIRE(r.ok());
    out.emplace_back(segment, std::move(parent));
  }
  return out;
}

std::vector<std::string> Parents(std::string_view unit) {
  std::vector<std::string> out;
  for (auto& [segment, parent] : SegmentsAndParents(unit)) out.push_back(std::move(parent));
  return out;
}

// A cache point's unit: (partition, the split of the source unit below).
std::pair<int, std::string> CacheUnit(std::string_view unit) {
  auto [partition, rest] = Unit(unit);
  Reader r(rest);
  std::string lineage(r.GetLengthPrefixed());
  REQUIRE(r.ok());
  REQUIRE(r.done());
  return {partition, Unit(lineage).second};
}

runtime::OpSpec CacheOp(int dataset) { return Op("cache" + std::to_string(dataset)); }

proto::BlockUpdate Stored(int dataset, int partition, bool stored = true) {
  proto::BlockUpdate u;
  u.set_dataset(dataset);
  u.set_partition(partition);
  u.set_stored(stored);
  return u;
}

TEST_CASE("stages: narrow operators fuse into one stage ending at the sink", "[stages]") {
  auto plan = Narrow(Narrow(Source(3), "map"), "filter");
  StageTemplate stage = BuildStage(plan, Op("sink"), nullptr);
  CHECK(Kinds(stage) == std::vector<std::string>{"source", "map", "filter", "sink"});
  CHECK(stage.num_partitions == 3);
  REQUIRE(stage.segments.size() == 1);
  CHECK(stage.segments[0].kind == StageTemplate::Segment::Kind::kSource);
  CHECK(Unit(TaskSplit(stage, 2)) == std::pair<int, std::string>{2, "split2"});
}

TEST_CASE("stages: a coalesced task reads several parent partitions", "[stages]") {
  auto plan = Narrow(Coalesce(Narrow(Source(4), "map"), {{0, 1}, {2, 3}}), "after");
  StageTemplate stage = BuildStage(plan, Op("sink"), nullptr);
  CHECK(Kinds(stage) == std::vector<std::string>{"source", "map", "boundary", "after", "sink"});
  CHECK(stage.num_partitions == 2);
  CHECK(Splits(Parents(TaskSplit(stage, 1))) == std::vector<std::string>{"split2", "split3"});
}

TEST_CASE("stages: nested coalesces are nested boundaries", "[stages]") {
  auto inner = Coalesce(Source(4), {{0, 1}, {2}, {3}});
  auto outer = Coalesce(inner, {{0}, {1, 2}});
  StageTemplate stage = BuildStage(outer, Op("sink"), nullptr);
  CHECK(Kinds(stage) == std::vector<std::string>{"source", "boundary", "boundary", "sink"});
  REQUIRE(stage.segments.size() == 3);
  CHECK(stage.segments[1].node == inner.get());  // children first
  CHECK(stage.segments[2].children == std::vector<size_t>{1});
  std::vector<std::string> first = Parents(TaskSplit(stage, 0));
  REQUIRE(first.size() == 1);
  CHECK(Splits(Parents(first[0])) == std::vector<std::string>{"split0", "split1"});
  std::vector<std::string> second = Parents(TaskSplit(stage, 1));
  REQUIRE(second.size() == 2);
  CHECK(Unit(second[0]).first == 1);  // partitions of the inner coalesce
  CHECK(Splits(Parents(second[0])) == std::vector<std::string>{"split2"});
  CHECK(Splits(Parents(second[1])) == std::vector<std::string>{"split3"});
}

TEST_CASE("stages: a persisted dataset gets a cache point after its operator", "[stages][cache]") {
  auto source = Source(3);
  source->id = 1;
  auto mapped = Narrow(source, "map");
  mapped->id = 2;
  auto plan = Narrow(mapped, "filter");
  plan->id = 3;
  CacheTracker cache;
  cache.Persist(2, 3, CacheOp(2));
  StageTemplate stage = BuildStage(plan, Op("sink"), &cache);
  CHECK(Kinds(stage) == std::vector<std::string>{"source", "map", "cache2", "filter", "sink"});
  auto [partition, lineage] = CacheUnit(TaskSplit(stage, 1));
  CHECK(partition == 1);
  CHECK(lineage == "split1");

  // Nothing cached yet: no preference, and the stage computes from its source.
  CHECK(PreferredExecutors(stage, 1, cache).empty());
  cache.Update("exec-a", Stored(2, 0));
  cache.Update("exec-b", Stored(2, 1));
  cache.Update("exec-a", Stored(2, 1));
  CHECK(PreferredExecutors(stage, 1, cache) == std::vector<std::string>{"exec-b", "exec-a"});
  // Evicted, and a lost executor: their blocks are forgotten.
  cache.Update("exec-b", Stored(2, 1, false));
  CHECK(PreferredExecutors(stage, 1, cache) == std::vector<std::string>{"exec-a"});
  cache.RemoveExecutor("exec-a");
  CHECK(PreferredExecutors(stage, 0, cache).empty());
  CHECK(cache.CachedPartitions(2) == 0);
  // Unpersisted: no cache point any more.
  CHECK(cache.Unpersist(2));
  CHECK(Kinds(BuildStage(plan, Op("sink"), &cache)) ==
        std::vector<std::string>{"source", "map", "filter", "sink"});
}

TEST_CASE("stages: a coalesce over a cached dataset prefers where most blocks are",
          "[stages][cache]") {
  auto source = Source(4);
  source->id = 1;
  auto merged = Coalesce(source, {{0, 1, 2}, {3}});
  merged->id = 2;
  CacheTracker cache;
  cache.Persist(1, 4, CacheOp(1));
  StageTemplate stage = BuildStage(merged, Op("sink"), &cache);
  CHECK(Kinds(stage) == std::vector<std::string>{"source", "cache1", "boundary", "sink"});
  std::vector<std::string> parents = Parents(TaskSplit(stage, 0));
  REQUIRE(parents.size() == 3);
  CHECK(CacheUnit(parents[2]) == std::pair<int, std::string>{2, "split2"});
  cache.Update("x", Stored(1, 0));
  cache.Update("y", Stored(1, 1));
  cache.Update("y", Stored(1, 2));
  CHECK(PreferredExecutors(stage, 0, cache) == std::vector<std::string>{"y", "x"});
}

TEST_CASE("stages: a shuffled root reads its map outputs where the tracker says", "[stages]") {
  auto dep = std::make_shared<ShuffleDependency>();
  dep->shuffle_id = 5;
  dep->map_side = Source(2);
  dep->num_partitions = 3;
  auto reduced = std::make_shared<PlanNode>();
  reduced->kind = PlanNode::Kind::kShuffled;
  reduced->num_partitions = 3;
  reduced->op = Op("reduce");
  reduced->deps = {dep};
  MapOutputTracker tracker;
  CHECK(tracker.Missing(5, 2) == std::vector<int>{0, 1});
  for (int m = 0; m < 2; ++m) {
    tracker.Register(5, 2, m,
                     {.map_id = m,
                      .worker_id = "w" + std::to_string(m),
                      .address = "127.0.0.1:" + std::to_string(7000 + m)});
  }
  CHECK(tracker.Missing(5, 2).empty());

  StageTemplate stage = BuildStage(reduced, Op("sink"), nullptr);
  proto::StagePlan plan = MakeStagePlan(stage, 9, 0, tracker);
  CHECK(plan.stage_key() == "9.0");
  absl::StatusOr<std::vector<runtime::ShuffleReadParams>> reads =
      runtime::ParseReadParams(plan.ops(0).params(), 1);
  REQUIRE(reads.ok());
  const runtime::ShuffleReadParams& params = (*reads)[0];
  CHECK(params.shuffle_id == 5);
  REQUIRE(params.maps.size() == 2);
  CHECK(params.maps[1].address == "127.0.0.1:7001");
  CHECK(params.num_maps == 2);
  // The reduce task's split is its reduce partition.
  const std::string split = Unit(TaskSplit(stage, 2)).second;
  Reader r(split);
  CHECK(r.GetVarint() == 2);
}

TEST_CASE("stages: a join with a partitioned side reads only the other side's shuffle",
          "[stages][join]") {
  auto dep = std::make_shared<ShuffleDependency>();
  dep->shuffle_id = 3;
  dep->map_side = Source(2);
  dep->num_partitions = 4;
  auto grouped = std::make_shared<PlanNode>();
  grouped->kind = PlanNode::Kind::kShuffled;
  grouped->id = 1;
  grouped->num_partitions = 4;
  grouped->key_partitions = 4;
  grouped->op = Op("group");
  grouped->deps = {dep};
  auto other = std::make_shared<ShuffleDependency>();
  other->shuffle_id = 4;
  other->map_side = Source(3);
  other->num_partitions = 4;
  auto joined = Narrow(grouped, "join");
  joined->deps = {other};
  auto plan = Narrow(joined, "after");

  CacheTracker cache;
  StageTemplate stage = BuildStage(plan, Op("sink"), &cache);
  CHECK(Kinds(stage) == std::vector<std::string>{"group", "join", "after", "sink"});
  REQUIRE(stage.reads.size() == 2);
  CHECK(stage.reads[0].op == 0);
  CHECK(stage.reads[1].op == 1);
  auto ids = [](const std::vector<const ShuffleDependency*>& deps) {
    std::vector<int> out;
    for (const auto* d : deps) out.push_back(d->shuffle_id);
    return out;
  };
  CHECK(ids(NeededShuffles(stage, {0, 1, 2, 3}, &cache)) == std::vector<int>{3, 4});
  MapOutputTracker tracker;
  proto::StagePlan stage_plan = MakeStagePlan(stage, 1, 0, tracker);
  absl::StatusOr<std::vector<runtime::ShuffleReadParams>> reads =
      runtime::ParseReadParams(stage_plan.ops(1).params(), 1);
  REQUIRE(reads.ok());
  CHECK((*reads)[0].shuffle_id == 4);
  CHECK((*reads)[0].num_maps == 3);

  // The grouped side cached everywhere: its own shuffle is not needed any more, the
  // other side's still is.
  cache.Persist(1, 4, CacheOp(1));
  for (int p = 0; p < 4; ++p) cache.Update("a", Stored(1, p));
  stage = BuildStage(plan, Op("sink"), &cache);
  CHECK(Kinds(stage) == std::vector<std::string>{"group", "cache1", "join", "after", "sink"});
  CHECK(stage.reads[1].op == 2);
  CHECK(ids(NeededShuffles(stage, {0, 1, 2, 3}, &cache)) == std::vector<int>{4});
  // Without trusting the cache (after a fetch failure), everything.
  CHECK(ids(NeededShuffles(stage, {0, 1, 2, 3}, nullptr)) == std::vector<int>{3, 4});
}

std::shared_ptr<PlanNode> Union(std::shared_ptr<const PlanNode> a,
                                std::shared_ptr<const PlanNode> b, bool placed = false) {
  auto node = std::make_shared<PlanNode>();
  node->kind = PlanNode::Kind::kUnion;
  node->op = Op("union");
  node->num_partitions = placed ? a->num_partitions : a->num_partitions + b->num_partitions;
  for (int p = 0; p < node->num_partitions; ++p) {
    node->groups.push_back(placed ? std::vector<int>{p, a->num_partitions + p}
                                  : std::vector<int>{p});
  }
  node->inputs = {std::move(a), std::move(b)};
  return node;
}

TEST_CASE("stages: a union task runs the chain of the input its partition comes from",
          "[stages][union]") {
  auto plan = Narrow(Union(Narrow(Source(2), "map"), Narrow(Source(3), "filter")), "after");
  StageTemplate stage = BuildStage(plan, Op("sink"), nullptr);
  CHECK(Kinds(stage) ==
        std::vector<std::string>{"source", "map", "source", "filter", "union", "after", "sink"});
  CHECK(stage.num_partitions == 5);
  REQUIRE(stage.segments.size() == 3);
  CHECK(stage.segments[0].op == 0);
  CHECK(stage.segments[1].op == 2);
  CHECK(stage.segments[2].op == 4);
  CHECK(stage.segments[2].children == std::vector<size_t>{0, 1});
  // Partition 1 is the first input's partition 1; partition 3 the second's partition 1.
  auto first = SegmentsAndParents(TaskSplit(stage, 1));
  REQUIRE(first.size() == 1);
  CHECK(first[0].first == 0);
  CHECK(Unit(first[0].second) == std::pair<int, std::string>{1, "split1"});
  auto second = SegmentsAndParents(TaskSplit(stage, 3));
  REQUIRE(second.size() == 1);
  CHECK(second[0].first == 1);
  CHECK(Unit(second[0].second) == std::pair<int, std::string>{1, "split1"});
  CHECK(Unit(TaskSplit(stage, 3)).first == 3);

  // Placed by key alike: partition i reads both inputs' partition i.
  StageTemplate placed = BuildStage(Union(Source(2), Source(2), true), Op("sink"), nullptr);
  CHECK(placed.num_partitions == 2);
  auto both = SegmentsAndParents(TaskSplit(placed, 1));
  REQUIRE(both.size() == 2);
  CHECK(both[0].first == 0);
  CHECK(both[1].first == 1);
  CHECK(Splits({both[0].second, both[1].second}) == std::vector<std::string>{"split1", "split1"});
}

TEST_CASE("stages: a union over a cached input skips only that input's shuffle",
          "[stages][union][cache]") {
  auto shuffled = [](int id, int shuffle_id) {
    auto dep = std::make_shared<ShuffleDependency>();
    dep->shuffle_id = shuffle_id;
    dep->map_side = Source(2);
    dep->num_partitions = 2;
    auto node = std::make_shared<PlanNode>();
    node->kind = PlanNode::Kind::kShuffled;
    node->id = id;
    node->num_partitions = 2;
    node->op = Op("reduce" + std::to_string(id));
    node->deps = {dep};
    return node;
  };
  auto plan = Union(shuffled(1, 7), shuffled(2, 8));
  CacheTracker cache;
  cache.Persist(1, 2, CacheOp(1));
  StageTemplate stage = BuildStage(plan, Op("sink"), &cache);
  CHECK(Kinds(stage) == std::vector<std::string>{"reduce1", "cache1", "reduce2", "union", "sink"});
  REQUIRE(stage.reads.size() == 2);
  CHECK(stage.reads[1].segment == 2);
  auto ids = [](const std::vector<const ShuffleDependency*>& deps) {
    std::vector<int> out;
    for (const auto* d : deps) out.push_back(d->shuffle_id);
    return out;
  };
  // The first input's partitions cached: tasks 0 and 1 need no shuffle; 2 and 3 do.
  for (int p = 0; p < 2; ++p) cache.Update("a", Stored(1, p));
  CHECK(PreferredExecutors(stage, 1, cache) == std::vector<std::string>{"a"});
  CHECK(PreferredExecutors(stage, 3, cache).empty());
  CHECK(ids(NeededShuffles(stage, {0, 1}, &cache)).empty());
  CHECK(ids(NeededShuffles(stage, {1, 2}, &cache)) == std::vector<int>{8});
  CHECK(ids(NeededShuffles(stage, {1, 2}, nullptr)) == std::vector<int>{7, 8});
  cache.Update("a", Stored(1, 0, false));
  CHECK(ids(NeededShuffles(stage, {0, 1, 2, 3}, &cache)) == std::vector<int>{7, 8});
  auto unit = CacheUnit(SegmentsAndParents(TaskSplit(stage, 1))[0].second);
  CHECK(unit.first == 1);
}

TEST_CASE("map outputs: losing a worker forgets everything it served", "[stages]") {
  MapOutputTracker tracker;
  for (int m = 0; m < 4; ++m) {
    runtime::MapLocation loc{.map_id = m, .address = m % 2 == 0 ? "a:1" : "b:1"};
    tracker.Register(1, 4, m, loc);
    tracker.Register(2, 4, m, loc);
  }
  CHECK(tracker.MarkLost(1, 0, "a:1") == 4);  // maps 0 and 2 of both shuffles
  CHECK(tracker.Missing(1, 4) == std::vector<int>{0, 2});
  CHECK(tracker.Missing(2, 4) == std::vector<int>{0, 2});
  // Local mode (no address): only the named output.
  CHECK(tracker.MarkLost(1, 1, "") == 1);
  CHECK(tracker.Missing(1, 4) == std::vector<int>{0, 1, 2});
}

}  // namespace
}  // namespace kiln::internal
