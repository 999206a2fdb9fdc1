#include "driver/task_scheduler.h"

#include <future>

#include "absl/synchronization/mutex.h"
#include "common/wait.h"
#include "driver/app_status.h"
#include "driver/event_bus.h"
#include "tests/driver/fake_executor.h"
#include "tests/kiln_catch.h"

namespace kiln::internal {
namespace {

using namespace std::chrono_literals;

proto::TaskStatus FinishedAfter(int64_t task_id, std::chrono::nanoseconds run) {
  proto::TaskStatus s = Finished(task_id, "");
  s.mutable_metrics()->set_run_nanos(run.count());
  return s;
}

proto::TaskStatus Failed(int64_t task_id, const std::string& error) {
  proto::TaskStatus s;
  s.set_task_id(task_id);
  s.set_state(proto::TASK_FAILED);
  s.set_error(error);
  return s;
}

// Runs a task set on another thread. If the test ends first (a failed assertion), the
// scheduler is stopped so the set returns instead of blocking the test forever.
class AsyncRun {
 public:
  AsyncRun(TaskScheduler& tasks, TaskSet set)
      : tasks_(tasks),
        future_(std::async(std::launch::async, [&tasks, set = std::move(set)]() mutable {
          return tasks.RunTaskSet(std::move(set));
        })) {}
  ~AsyncRun() {
    if (future_.valid()) {
      tasks_.Stop("test ended");
      future_.wait();
    }
  }
  TaskSetOutcome get() { return future_.get(); }

 private:
  TaskScheduler& tasks_;
  std::future<TaskSetOutcome> future_;
};

TEST_CASE("task scheduler: tasks go out in one batch per executor, plan first", "[scheduler]") {
  TaskScheduler tasks({.max_failures = 4, .launch_ahead = 0});
  auto a = std::make_shared<FakeExecutor>("a", 2);
  auto b = std::make_shared<FakeExecutor>("b", 2);
  tasks.AddExecutor(a);
  tasks.AddExecutor(b);
  AsyncRun outcome(tasks, MakeSet(6));
  REQUIRE(WaitFor([&] { return a->tasks().size() + b->tasks().size() == 4; }, 10s));
  REQUIRE(a->batches().size() == 1);
  CHECK(a->batches()[0].plans_size() == 1);
  CHECK(a->batches()[0].tasks_size() == 2);
  CHECK(b->batches()[0].tasks_size() == 2);
  // Finishing tasks frees cores for the two queued ones.
  for (const auto& t : a->tasks())
    tasks.OnStatuses("a", {Finished(t.task_id(), "r" + std::to_string(t.partition()))});
  REQUIRE(WaitFor([&] { return a->tasks().size() == 4; }, 10s));
  CHECK(a->batches()[1].plans_size() == 0);  // the executor has the plan already
  for (const auto& t : a->tasks())
    tasks.OnStatuses("a", {Finished(t.task_id(), "r" + std::to_string(t.partition()))});
  for (const auto& t : b->tasks())
    tasks.OnStatuses("b", {Finished(t.task_id(), "r" + std::to_string(t.partition()))});
  TaskSetOutcome out = outcome.get();
  REQUIRE(out.status.ok());
  REQUIRE(out.results.size() == 6);
  for (int i = 0; i < 6; ++i) CHECK(out.results[i].status.result() == "r" + std::to_string(i));
}

TEST_CASE("task scheduler: a task failing max_failures times fails the stage, naming where",
          "[scheduler]") {
  TaskScheduler tasks({.max_failures = 2, .launch_ahead = 0});
  auto a = std::make_shared<FakeExecutor>("a", 1);
  tasks.AddExecutor(a);
  AsyncRun outcome(tasks, MakeSet(1));
  REQUIRE(WaitFor([&] { return a->tasks().size() == 1; }, 10s));
  tasks.OnStatuses("a", {Failed(a->tasks()[0].task_id(), "boom")});
  REQUIRE(WaitFor([&] { return a->tasks().size() == 2; }, 10s));
  CHECK(a->tasks()[1].attempt() == 1);
  tasks.OnStatuses("a", {Failed(a->tasks()[1].task_id(), "boom again")});
  TaskSetOutcome out = outcome.get();
  REQUIRE_FALSE(out.status.ok());
  std::string message(out.status.message());
  CHECK(message.find("failed 2 times") != std::string::npos);
  CHECK(message.find("executor a, host host-a") != std::string::npos);
  CHECK(message.find("boom again") != std::string::npos);
}

TEST_CASE("task scheduler: a lost executor's tasks run elsewhere", "[scheduler]") {
  TaskScheduler tasks({.max_failures = 1, .launch_ahead = 0});
  auto a = std::make_shared<FakeExecutor>("a", 1);
  auto b = std::make_shared<FakeExecutor>("b", 1);
  tasks.AddExecutor(a);
  tasks.AddExecutor(b);
  AsyncRun outcome(tasks, MakeSet(2));
  REQUIRE(WaitFor([&] { return a->tasks().size() == 1 && b->tasks().size() == 1; }, 10s));
  tasks.OnStatuses("b", {Finished(b->tasks()[0].task_id(), "")});
  tasks.RemoveExecutor("a", "test");  // not counted as a failure (max_failures is 1)
  REQUIRE(WaitFor([&] { return b->tasks().size() == 2; }, 10s));
  CHECK(b->tasks()[1].partition() == a->tasks()[0].partition());
  // A late status from the removed executor is ignored.
  tasks.OnStatuses("a", {Failed(a->tasks()[0].task_id(), "late")});
  tasks.OnStatuses("b", {Finished(b->tasks()[1].task_id(), "")});
  CHECK(outcome.get().status.ok());
  CHECK(tasks.TotalCores() == 1);
}

TEST_CASE("task scheduler: task and executor events reach the bus, a lost attempt's too",
          "[scheduler][events]") {
  EventBus bus;
  AppStatusStore store;
  bus.AddListener(&store);
  bus.Start();
  TaskScheduler tasks({.max_failures = 1, .launch_ahead = 0, .events = &bus});
  auto a = std::make_shared<FakeExecutor>("a", 1);
  auto b = std::make_shared<FakeExecutor>("b", 1);
  auto c = std::make_shared<FakeExecutor>("c", 1);
  tasks.AddExecutor(a);
  tasks.AddExecutor(b);
  bus.Post(StageSubmitted{.stage_id = 3, .num_tasks = 2});  // as the DAG scheduler does
  bus.Flush();
  AsyncRun outcome(tasks, MakeSet(2));
  REQUIRE(WaitFor([&] { return a->tasks().size() == 1 && b->tasks().size() == 1; }, 10s));
  tasks.OnStatuses("b", {FinishedAfter(b->tasks()[0].task_id(), 5ms)});
  tasks.RemoveExecutor("a", "test");
  REQUIRE(WaitFor([&] { return b->tasks().size() == 2; }, 10s));
  tasks.OnStatuses("b", {Finished(b->tasks()[1].task_id(), "")});
  CHECK(outcome.get().status.ok());
  tasks.AddExecutor(c);
  CHECK(tasks.Decommission("c"));  // dynamic allocation gives an idle one back
  bus.Flush();
  store.Read([&](const AppState& app) {
    const StageRow& stage = app.stages.at({3, 0});
    CHECK(stage.tasks.size() == 3);
    CHECK(stage.succeeded_tasks == 2);
    CHECK(stage.failed_tasks == 1);
    CHECK(stage.active_tasks == 0);
    CHECK(stage.totals.run_nanos == 5'000'000);
    const TaskRow* lost = stage.FindTask(a->tasks()[0].task_id());
    REQUIRE(lost != nullptr);
    CHECK(lost->state == TaskState::kExecutorLost);
    CHECK(lost->error == "executor a lost: test");
    CHECK(lost->executor_id() == "a");
    CHECK_FALSE(app.executors.at("a").active);
    CHECK(app.executors.at("b").succeeded_tasks == 2);
    CHECK_FALSE(app.executors.at("c").active);
    CHECK(app.executors.at("c").removed_reason == "idle: given back (dynamic allocation)");
    CHECK(app.tasks_running == 0);
    return 0;
  });
  bus.Stop();
}

TEST_CASE("task scheduler: without eager starts, only a task still running when asked gets one",
          "[scheduler][events]") {
  EventBus bus;
  AppStatusStore store;
  bus.AddListener(&store);
  bus.Start();
  TaskScheduler tasks(
      {.max_failures = 1, .launch_ahead = 0, .events = &bus, .eager_task_starts = false});
  auto a = std::make_shared<FakeExecutor>("a", 2);
  tasks.AddExecutor(a);
  bus.Post(StageSubmitted{.stage_id = 3, .num_tasks = 3});
  AsyncRun outcome(tasks, MakeSet(3));
  REQUIRE(WaitFor([&] { return a->tasks().size() == 2; }, 10s));
  tasks.OnStatuses("a", {Finished(a->tasks()[0].task_id(), "")});  // ends before anyone asks
  REQUIRE(WaitFor([&] { return a->tasks().size() == 3; }, 10s));
  tasks.PostRunningStarts();  // as the UI does before it reads the store
  bus.Flush();
  store.Read([&](const AppState& app) {
    const StageRow& stage = app.stages.at({3, 0});
    CHECK(stage.tasks.size() == 3);
    CHECK(stage.active_tasks == 2);
    CHECK(stage.succeeded_tasks == 1);
    CHECK(app.tasks_running == 2);
    CHECK(app.executors.at("a").active_tasks == 2);
    const TaskRow* first = stage.FindTask(a->tasks()[0].task_id());
    REQUIRE(first != nullptr);  // its end carried the attempt
    CHECK(first->executor_id() == "a");
    CHECK(first->launch_ms > 0);
    const TaskRow* running = stage.FindTask(a->tasks()[2].task_id());
    REQUIRE(running != nullptr);
    CHECK_FALSE(running->finished());
  });
  tasks.OnStatuses("a",
                   {Finished(a->tasks()[1].task_id(), ""), Finished(a->tasks()[2].task_id(), "")});
  CHECK(outcome.get().status.ok());
  tasks.PostRunningStarts();  // none runs: nothing to post
  bus.Flush();
  store.Read([&](const AppState& app) {
    CHECK(app.tasks_running == 0);
    CHECK(app.tasks_succeeded == 3);
    CHECK(app.stages.at({3, 0}).active_tasks == 0);
    CHECK(app.stages.at({3, 0}).tasks.size() == 3);
    CHECK(app.executors.at("a").active_tasks == 0);
  });
}

TEST_CASE("task scheduler: a crash report names the one task that counts the failure",
          "[scheduler]") {
  TaskScheduler tasks({.max_failures = 1, .launch_ahead = 0});
  auto a = std::make_shared<FakeExecutor>("1", 2);
  auto b = std::make_shared<FakeExecutor>("2", 2);
  tasks.AddExecutor(a);
  AsyncRun outcome(tasks, MakeSet(2));
  REQUIRE(WaitFor([&] { return a->tasks().size() == 2; }, 10s));
  const int64_t culprit = a->tasks()[1].task_id();
  const int partition = a->tasks()[1].partition();
  tasks.RemoveExecutor("1", "its stream closed");
  tasks.ExecutorFailed("1", "executor 1 killed by signal 11", culprit);
  tasks.AddExecutor(b);
  TaskSetOutcome out = outcome.get();
  REQUIRE_FALSE(out.status.ok());  // max_failures 1: the culprit's one failure ends it
  const std::string message(out.status.message());
  CHECK(message.find("task " + std::to_string(partition) + " in stage") != std::string::npos);
  CHECK(message.find("killed by signal 11") != std::string::npos);
}

TEST_CASE(
    "task scheduler: an executor that failed counts a failure for its tasks, whichever "
    "news comes first",
    "[scheduler]") {
  for (bool reason_first : {false, true}) {
    INFO("reason before the stream closes: " << reason_first);
    TaskScheduler tasks({.max_failures = 2, .launch_ahead = 0});
    auto a = std::make_shared<FakeExecutor>("1", 1);
    auto b = std::make_shared<FakeExecutor>("2", 1);
    auto c = std::make_shared<FakeExecutor>("3", 1);
    tasks.AddExecutor(a);
    AsyncRun outcome(tasks, MakeSet(1));
    REQUIRE(WaitFor([&] { return a->tasks().size() == 1; }, 10s));
    const std::string oom = "executor 1 exceeded its memory limit of 896.0 MiB";
    // The first loss: the task runs again on b (one failure of two).
    if (reason_first) tasks.ExecutorFailed("1", oom);
    tasks.RemoveExecutor("1", "its stream closed");
    if (!reason_first) tasks.ExecutorFailed("1", oom);
    tasks.AddExecutor(b);
    REQUIRE(WaitFor([&] { return b->tasks().size() == 1; }, 10s));
    // The second: the task has failed max_failures times; the set fails naming why, and
    // what the task had spilled when its executor died (as the executor last said).
    proto::TaskProgress progress;
    progress.set_task_id(b->tasks()[0].task_id());
    progress.mutable_metrics()->set_spill_count(3);
    progress.mutable_metrics()->set_memory_bytes_spilled(int64_t{300} << 20);
    progress.mutable_metrics()->set_disk_bytes_spilled(int64_t{40} << 20);
    progress.mutable_metrics()->set_peak_execution_memory(int64_t{434} << 20);
    tasks.OnProgress("1", {progress});  // from another executor: ignored
    progress.mutable_metrics()->set_spill_count(2);
    tasks.OnProgress("2", {progress});
    tasks.RemoveExecutor("2", "its stream closed");
    tasks.ExecutorFailed("2", "executor 2 killed by signal 11");
    tasks.AddExecutor(c);
    TaskSetOutcome out = outcome.get();
    REQUIRE_FALSE(out.status.ok());
    const std::string message(out.status.message());
    CHECK(message.find("failed 2 times") != std::string::npos);
    CHECK(message.find("executor 2 killed by signal 11") != std::string::npos);
    CHECK(message.find(
              "(executor 2, host host-2; the task had spilled 2 time(s) so far, 300.0 MiB in "
              "memory, 40.0 MiB on disk, peak execution memory 434.0 MiB)") != std::string::npos);
    CHECK(c->tasks().empty());
  }
  // An executor lost without a failure (stopped, or its worker gone) counts nothing.
  TaskScheduler tasks({.max_failures = 1, .launch_ahead = 0});
  auto a = std::make_shared<FakeExecutor>("1", 1);
  auto b = std::make_shared<FakeExecutor>("2", 1);
  tasks.AddExecutor(a);
  tasks.AddExecutor(b);
  AsyncRun outcome(tasks, MakeSet(1));
  REQUIRE(WaitFor([&] { return a->tasks().size() + b->tasks().size() == 1; }, 10s));
  std::shared_ptr<FakeExecutor> lost = a->tasks().empty() ? b : a;
  std::shared_ptr<FakeExecutor> kept = a->tasks().empty() ? a : b;
  tasks.RemoveExecutor(lost->info().id, "its stream closed");
  REQUIRE(WaitFor([&] { return kept->tasks().size() == 1; }, 10s));
  tasks.OnStatuses(kept->info().id, {Finished(kept->tasks()[0].task_id(), "")});
  CHECK(outcome.get().status.ok());
}

TEST_CASE("task scheduler: a fetch failure ends the task set for a resubmit", "[scheduler]") {
  TaskScheduler tasks({.launch_ahead = 0});
  auto a = std::make_shared<FakeExecutor>("a", 2);
  tasks.AddExecutor(a);
  AsyncRun outcome(tasks, MakeSet(2));
  REQUIRE(WaitFor([&] { return a->tasks().size() == 2; }, 10s));
  proto::TaskStatus s;
  s.set_task_id(a->tasks()[0].task_id());
  s.set_state(proto::TASK_FETCH_FAILED);
  s.set_fetch_failed_shuffle(4);
  s.set_fetch_failed_map(1);
  s.set_fetch_failed_address("10.0.0.1:7078");
  tasks.OnStatuses("a", {s});
  TaskSetOutcome out = outcome.get();
  CHECK(out.status.ok());
  REQUIRE(out.fetch_failed.has_value());
  CHECK(out.fetch_failed->shuffle_id == 4);
  CHECK(out.fetch_failed->map_id == 1);
  CHECK(out.fetch_failed->address == "10.0.0.1:7078");
  // The other task's late status frees its core for the next set.
  tasks.OnStatuses("a", {Finished(a->tasks()[1].task_id(), "")});
  AsyncRun next(tasks, MakeSet(2));
  REQUIRE(WaitFor([&] { return a->tasks().size() == 4; }, 10s));
  tasks.OnStatuses("a",
                   {Finished(a->tasks()[2].task_id(), ""), Finished(a->tasks()[3].task_id(), "")});
  CHECK(next.get().status.ok());
}

TEST_CASE("task scheduler: short tasks are launched ahead of free cores, long ones are not",
          "[scheduler]") {
  TaskScheduler tasks({.launch_ahead = 2, .short_task = 20ms});
  auto a = std::make_shared<FakeExecutor>("a", 1);
  tasks.AddExecutor(a);
  AsyncRun outcome(tasks, MakeSet(20));
  // Nothing is known of the stage's tasks yet: one task per core.
  REQUIRE(WaitFor([&] { return a->tasks().size() == 1; }, 10s));
  // A short task finished: its core gets the next task plus two queued behind it.
  tasks.OnStatuses("a", {FinishedAfter(a->tasks()[0].task_id(), 1ms)});
  REQUIRE(WaitFor([&] { return a->tasks().size() == 4; }, 10s));
  // The mean run time is now 500 ms: no more launching ahead. The executor holds 3
  // tasks; finishing one leaves 2 for its single core, so none is sent.
  tasks.OnStatuses("a", {FinishedAfter(a->tasks()[1].task_id(), 999ms)});
  CHECK(a->tasks().size() == 4);
  tasks.OnStatuses("a", {FinishedAfter(a->tasks()[2].task_id(), 1s)});
  CHECK(a->tasks().size() == 4);
  tasks.OnStatuses("a", {FinishedAfter(a->tasks()[3].task_id(), 1s)});
  REQUIRE(WaitFor([&] { return a->tasks().size() == 5; }, 10s));
  CHECK(a->batches().back().tasks_size() == 1);
}

TEST_CASE("task scheduler: tiny tasks are launched ahead by about 2 ms of work per core",
          "[scheduler]") {
  // Mean run time 100 us: 2 ms / 100 us = 20 tasks per core queued; the executor has 2.
  TaskScheduler tasks({.launch_ahead = 2, .short_task = 20ms});
  auto a = std::make_shared<FakeExecutor>("a", 2);
  tasks.AddExecutor(a);
  AsyncRun outcome(tasks, MakeSet(600));
  REQUIRE(WaitFor([&] { return a->tasks().size() == 2; }, 10s));
  tasks.OnStatuses("a", {FinishedAfter(a->tasks()[0].task_id(), 100us)});
  // 1 running, 2 cores: 2 + 2 * 20 held, in one batch.
  REQUIRE(WaitFor([&] { return a->tasks().size() == 1 + 2 + 40; }, 10s));
  CHECK(a->batches().back().tasks_size() == 41);
  // Mean now (100 us + 1 us) / 2 = 50.5 us: 39 per core; then 1 us tasks: the cap.
  tasks.OnStatuses("a", {FinishedAfter(a->tasks()[1].task_id(), 1us)});
  REQUIRE(WaitFor([&] { return a->tasks().size() == 2 + 2 + 2 * 39; }, 10s));
  for (int i = 2; i < 40; ++i) tasks.OnStatuses("a", {FinishedAfter(a->tasks()[i].task_id(), 1us)});
  // 40 done; held: everything sent minus 40, topped up to 2 + 2 * the cap.
  REQUIRE(WaitFor([&] { return a->tasks().size() - 40 == 2 + 2 * TaskSetManager::kMaxLaunchAhead; },
                  10s));
  for (size_t i = 40; i < 600; ++i) {
    REQUIRE(WaitFor([&] { return a->tasks().size() > i; }, 10s));
    tasks.OnStatuses("a", {FinishedAfter(a->tasks()[i].task_id(), 1us)});
  }
  CHECK(outcome.get().status.ok());
}

TEST_CASE("task scheduler: launchAhead 0 sends one task per core however short they are",
          "[scheduler]") {
  TaskScheduler tasks({.launch_ahead = 0, .short_task = 20ms});
  auto a = std::make_shared<FakeExecutor>("a", 1);
  tasks.AddExecutor(a);
  AsyncRun outcome(tasks, MakeSet(3));
  for (size_t i = 0; i < 3; ++i) {
    REQUIRE(WaitFor([&] { return a->tasks().size() == i + 1; }, 10s));
    CHECK(a->batches().back().tasks_size() == 1);  // the next task only, never ahead
    tasks.OnStatuses("a", {FinishedAfter(a->tasks()[i].task_id(), 1us)});
  }
  CHECK(outcome.get().status.ok());
  CHECK(a->tasks().size() == 3);
}

TEST_CASE(
    "task scheduler: tasks wait for the executor holding their input, up to the locality wait",
    "[scheduler][cache]") {
  FakeClock clock;
  TaskScheduler tasks({.launch_ahead = 0, .locality_wait = 3000ms, .clock = &clock});
  auto a = std::make_shared<FakeExecutor>("a", 1);
  auto b = std::make_shared<FakeExecutor>("b", 1);
  tasks.AddExecutor(a);
  tasks.AddExecutor(b);
  AsyncRun outcome(tasks, MakeSet(3, {"b"}));
  REQUIRE(WaitFor([&] { return b->tasks().size() == 1; }, 10s));
  CHECK(a->tasks().empty());  // a is free, but the tasks wait for b
  tasks.OnStatuses("b", {Finished(b->tasks()[0].task_id(), "")});
  REQUIRE(WaitFor([&] { return b->tasks().size() == 2; }, 10s));
  clock.Advance(2999ms);
  tasks.OnStatuses("a", {});  // any event reconsiders the queue
  CHECK(a->tasks().empty());
  // The wait counts from the last launch on a preferred executor: past it, any
  // executor takes the task.
  clock.Advance(1ms);
  tasks.OnStatuses("a", {});
  REQUIRE(WaitFor([&] { return a->tasks().size() == 1; }, 10s));
  tasks.OnStatuses("a", {Finished(a->tasks()[0].task_id(), "")});
  tasks.OnStatuses("b", {Finished(b->tasks()[1].task_id(), "")});
  CHECK(outcome.get().status.ok());
}

TEST_CASE("task scheduler: without a live preferred executor a task runs anywhere at once",
          "[scheduler][cache]") {
  FakeClock clock;
  TaskScheduler tasks({.launch_ahead = 0, .locality_wait = 3600s, .clock = &clock});
  auto a = std::make_shared<FakeExecutor>("a", 1);
  auto b = std::make_shared<FakeExecutor>("b", 1);
  tasks.AddExecutor(a);
  tasks.AddExecutor(b);
  TaskSet set = MakeSet(3, {"b"});
  set.tasks[2].preferred = {"gone"};  // never registered
  AsyncRun outcome(tasks, std::move(set));
  REQUIRE(WaitFor([&] { return a->tasks().size() == 1 && b->tasks().size() == 1; }, 10s));
  CHECK(a->tasks()[0].partition() == 2);
  tasks.OnStatuses("a", {Finished(a->tasks()[0].task_id(), "")});
  // b is lost: the task waiting for it goes to a without waiting, and so does the one
  // b was running.
  tasks.RemoveExecutor("b", "test");
  REQUIRE(WaitFor([&] { return a->tasks().size() == 2; }, 10s));
  tasks.OnStatuses("a", {Finished(a->tasks()[1].task_id(), "")});
  REQUIRE(WaitFor([&] { return a->tasks().size() == 3; }, 10s));
  tasks.OnStatuses("a", {Finished(a->tasks()[2].task_id(), "")});
  CHECK(outcome.get().status.ok());
}

TEST_CASE("task scheduler: block updates in statuses reach the cache tracker",
          "[scheduler][cache]") {
  CacheTracker cache;
  cache.Persist(7, 2, runtime::OpSpec());
  TaskScheduler tasks({.launch_ahead = 0}, &cache);
  auto a = std::make_shared<FakeExecutor>("a", 2);
  tasks.AddExecutor(a);
  AsyncRun outcome(tasks, MakeSet(2));
  REQUIRE(WaitFor([&] { return a->tasks().size() == 2; }, 10s));
  proto::TaskStatus done = Finished(a->tasks()[0].task_id(), "");
  proto::BlockUpdate* stored = done.add_block_updates();
  stored->set_dataset(7);
  stored->set_partition(1);
  stored->set_stored(true);
  // A failed task's blocks count too: the block was complete before the task failed.
  proto::TaskStatus failed = Failed(a->tasks()[1].task_id(), "later failure");
  *failed.add_block_updates() = *stored;
  failed.mutable_block_updates(0)->set_partition(0);
  tasks.OnStatuses("a", {done, failed});
  CHECK(cache.Locations(7, 1) == std::vector<std::string>{"a"});
  CHECK(cache.Locations(7, 0) == std::vector<std::string>{"a"});
  REQUIRE(WaitFor([&] { return a->tasks().size() == 3; }, 10s));
  tasks.OnStatuses("a", {Finished(a->tasks()[2].task_id(), "")});
  CHECK(outcome.get().status.ok());
  tasks.RemoveDataset(7);
  CHECK(a->removed() == std::vector<int>{7});
  tasks.RemoveExecutor("a", "test");
  CHECK(cache.CachedPartitions(7) == 0);
}

TEST_CASE("task scheduler: an empty task set completes at once", "[scheduler]") {
  TaskScheduler tasks({.launch_ahead = 0});
  CHECK(tasks.RunTaskSet(MakeSet(0)).status.ok());
}

TEST_CASE("task scheduler: waiting for cores times out or succeeds", "[scheduler]") {
  TaskScheduler tasks({.launch_ahead = 0});
  CHECK_FALSE(tasks.WaitForCores(1, 10ms));
  tasks.AddExecutor(std::make_shared<FakeExecutor>("a", 3));
  CHECK(tasks.WaitForCores(3, 10ms));
  tasks.Stop("bye");
  CHECK(tasks.RunTaskSet(MakeSet(1)).status.code() == absl::StatusCode::kCancelled);
}

TEST_CASE("task scheduler: a slow task's copy runs elsewhere and the loser is killed",
          "[scheduler][speculation]") {
  FakeClock clock;
  TaskScheduler tasks(
      {.launch_ahead = 0, .speculation = true, .speculation_interval = 10ms, .clock = &clock});
  auto a = std::make_shared<FakeExecutor>("a", 1);
  auto b = std::make_shared<FakeExecutor>("b", 1);
  tasks.AddExecutor(a);
  tasks.AddExecutor(b);
  AsyncRun outcome(tasks, MakeSet(2));
  REQUIRE(WaitFor([&] { return a->tasks().size() == 1 && b->tasks().size() == 1; }, 10s));
  const proto::TaskDescription slow = a->tasks()[0];
  const proto::TaskDescription quick = b->tasks()[0];
  clock.Advance(1s);
  tasks.OnStatuses("b", {FinishedAfter(quick.task_id(), 1s)});
  clock.Advance(2s);  // the slow one has run 3 s, over 1.5x the median (1 s)
  REQUIRE(WaitFor([&] { return b->tasks().size() == 2; }, 10s));
  const proto::TaskDescription copy = b->tasks()[1];
  CHECK(copy.partition() == slow.partition());
  CHECK(copy.attempt() == 1);
  CHECK(a->killed().empty());
  proto::TaskStatus won = FinishedAfter(copy.task_id(), 10ms);
  won.set_result("copy");
  tasks.OnStatuses("b", {won});
  TaskSetOutcome out = outcome.get();
  REQUIRE(out.status.ok());
  CHECK(out.results[static_cast<size_t>(slow.partition())].status.result() == "copy");
  CHECK(a->killed() == std::vector<int64_t>{slow.task_id()});
  CHECK(tasks.SpeculativeLaunches() == 1);
}

}  // namespace
}  // namespace kiln::internal
