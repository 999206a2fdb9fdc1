// The DAG scheduler over a TaskScheduler whose executor is a fake: which stages run,
// in which order, and how fetch failures send it back to the stages below.

#include "driver/dag_scheduler.h"

#include <future>
#include <map>

#include "common/wait.h"
#include "tests/driver/fake_executor.h"
#include "tests/driver/test_ops.h"
#include "tests/kiln_catch.h"

namespace kiln::internal {
namespace {

using namespace std::chrono_literals;

// The first operator's kind of each task's stage plan, in launch order.
std::vector<std::pair<proto::TaskDescription, std::string>> Launched(FakeExecutor& ex) {
  std::map<std::string, std::string> roots;  // stage key -> kind of ops(0)
  std::vector<std::pair<proto::TaskDescription, std::string>> out;
  for (const proto::LaunchTasks& batch : ex.batches()) {
    for (const proto::StagePlan& plan : batch.plans()) roots[plan.stage_key()] = plan.ops(0).kind();
    for (const proto::TaskDescription& task : batch.tasks()) {
      out.emplace_back(task, roots[task.stage_key()]);
    }
  }
  return out;
}

TEST_CASE("dag scheduler: a fetch failure below a cached dataset computes the skipped shuffle",
          "[dag][cache]") {
  // source (2 partitions) -> shuffle 1 -> reduce (persisted as dataset 5) -> collect.
  auto source = std::make_shared<PlanNode>();
  source->kind = PlanNode::Kind::kSource;
  source->id = 4;
  source->num_partitions = 2;
  source->op = Op("source");
  source->splits = {"a", "b"};
  auto dep = std::make_shared<ShuffleDependency>();
  dep->shuffle_id = 1;
  dep->map_side = source;
  dep->write_op = Op("write");
  dep->num_partitions = 2;
  auto reduced = std::make_shared<PlanNode>();
  reduced->kind = PlanNode::Kind::kShuffled;
  reduced->id = 5;
  reduced->num_partitions = 2;
  reduced->op = Op("reduce");
  reduced->deps = {dep};

  CacheTracker cache;
  MapOutputTracker outputs;
  TaskScheduler tasks({.launch_ahead = 0}, &cache);
  DagScheduler dag(&tasks, &outputs, &cache);
  auto a = std::make_shared<FakeExecutor>("a", 2);
  tasks.AddExecutor(a);
  cache.Persist(5, 2, Op("cache5"));
  for (int p = 0; p < 2; ++p) {
    proto::BlockUpdate u;
    u.set_dataset(5);
    u.set_partition(p);
    u.set_stored(true);
    cache.Update("a", u);
  }

  auto job = std::async(std::launch::async, [&] {
    return dag.RunJob(reduced, Op("collect"), {0, 1});
  });
  struct StopOnExit {
    TaskScheduler& tasks;
    ~StopOnExit() { tasks.Stop("test ended"); }
  } stop{tasks};

  // Every partition is cached: the final stage runs at once, without the map stage.
  REQUIRE(WaitFor([&] { return Launched(*a).size() == 2; }, 10s));
  CHECK(Launched(*a)[0].second == "reduce");
  // Yet a task reads the shuffle (its block was gone): a fetch failure.
  proto::TaskStatus failed;
  failed.set_task_id(Launched(*a)[0].first.task_id());
  failed.set_state(proto::TASK_FETCH_FAILED);
  failed.set_fetch_failed_shuffle(1);
  failed.set_fetch_failed_map(0);
  tasks.OnStatuses("a", {failed, Finished(Launched(*a)[1].first.task_id(), "late")});

  // Now the skipped map stage runs, then the final stage again.
  REQUIRE(WaitFor([&] { return Launched(*a).size() == 4; }, 10s));
  CHECK(Launched(*a)[2].second == "source");
  CHECK(Launched(*a)[3].second == "source");
  tasks.OnStatuses("a", {Finished(Launched(*a)[2].first.task_id(), ""),
                         Finished(Launched(*a)[3].first.task_id(), "")});
  REQUIRE(WaitFor([&] { return Launched(*a).size() == 6; }, 10s));
  CHECK(Launched(*a)[4].second == "reduce");
  tasks.OnStatuses("a", {Finished(Launched(*a)[4].first.task_id(), "r0"),
                         Finished(Launched(*a)[5].first.task_id(), "r1")});
  REQUIRE(job.wait_for(10s) == std::future_status::ready);
  absl::StatusOr<std::vector<std::string>> results = job.get();
  REQUIRE(results.ok());
  CHECK(*results == std::vector<std::string>{"r0", "r1"});
  CHECK(outputs.Missing(1, 2).empty());
}

}  // namespace
}  // namespace kiln::internal
