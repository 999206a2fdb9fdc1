#include "driver/stage_builder.h"

#include "common/codec.h"
#include "tests/kiln_catch.h"

namespace kiln::internal {
namespace {

proto::OpSpec Op(const std::string& kind) {
  proto::OpSpec op;
  op.set_kind(kind);
  return op;
}

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
  for (const auto& op : stage.ops) out.push_back(op.kind());
  return out;
}

std::vector<std::string> Splits(const StageTemplate& stage, int partition) {
  std::vector<std::string> out;
  REQUIRE(DecodeAll(TaskSplit(stage, partition), &out));
  return out;
}

TEST_CASE("stages: narrow operators fuse into one stage ending at the sink", "[stages]") {
  auto plan = Narrow(Narrow(Source(3), "map"), "filter");
  StageTemplate stage = BuildStage(plan, Op("sink"));
  CHECK(Kinds(stage) == std::vector<std::string>{"source", "map", "filter", "sink"});
  REQUIRE(stage.root_partitions.size() == 3);
  CHECK(Splits(stage, 2) == std::vector<std::string>{"split2"});
}

TEST_CASE("stages: a coalesced task reads several parent partitions", "[stages]") {
  auto plan = Narrow(Coalesce(Narrow(Source(4), "map"), {{0, 1}, {2, 3}}), "after");
  StageTemplate stage = BuildStage(plan, Op("sink"));
  CHECK(Kinds(stage) == std::vector<std::string>{"source", "map", "boundary", "after", "sink"});
  REQUIRE(stage.root_partitions.size() == 2);
  CHECK(Splits(stage, 1) == std::vector<std::string>{"split2", "split3"});
}

TEST_CASE("stages: nested coalesces flatten to one boundary", "[stages]") {
  auto inner = Coalesce(Source(4), {{0, 1}, {2}, {3}});
  auto outer = Coalesce(inner, {{0}, {1, 2}});
  StageTemplate stage = BuildStage(outer, Op("sink"));
  CHECK(Kinds(stage) == std::vector<std::string>{"source", "boundary", "sink"});
  CHECK(Splits(stage, 0) == std::vector<std::string>{"split0", "split1"});
  CHECK(Splits(stage, 1) == std::vector<std::string>{"split2", "split3"});
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
    proto::MapLocation loc;
    loc.set_map_id(m);
    loc.set_worker_id("w" + std::to_string(m));
    loc.set_address("127.0.0.1:" + std::to_string(7000 + m));
    tracker.Register(5, 2, m, loc);
  }
  CHECK(tracker.Missing(5, 2).empty());

  StageTemplate stage = BuildStage(reduced, Op("sink"));
  proto::StagePlan plan = MakeStagePlan(stage, 9, 0, tracker);
  CHECK(plan.stage_key() == "9.0");
  std::vector<std::string> reads;
  REQUIRE(DecodeAll(plan.ops(0).params(), &reads));
  REQUIRE(reads.size() == 1);
  proto::ShuffleReadParams params;
  REQUIRE(params.ParseFromString(reads[0]));
  CHECK(params.shuffle_id() == 5);
  REQUIRE(params.maps_size() == 2);
  CHECK(params.maps(1).address() == "127.0.0.1:7001");
  // The reduce task's split is its reduce partition.
  std::vector<std::string> splits = Splits(stage, 2);
  REQUIRE(splits.size() == 1);
  Reader r(splits[0]);
  CHECK(r.GetVarint() == 2);
}

TEST_CASE("map outputs: losing a worker forgets everything it served", "[stages]") {
  MapOutputTracker tracker;
  for (int m = 0; m < 4; ++m) {
    proto::MapLocation loc;
    loc.set_map_id(m);
    loc.set_address(m % 2 == 0 ? "a:1" : "b:1");
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
