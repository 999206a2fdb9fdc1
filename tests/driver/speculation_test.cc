// Speculative execution (kiln.speculation) in the TaskSetManager, driven by hand with a
// FakeClock: when a copy is due (quantile, multiplier, minTaskRuntime), where it goes,
// and that the first attempt to finish is the task's only result.

#include <string>
#include <vector>

#include "common/clock.h"
#include "driver/task_set_manager.h"
#include "tests/driver/fake_executor.h"
#include "tests/kiln_catch.h"

namespace kiln::internal {
namespace {

using namespace std::chrono_literals;

proto::TaskStatus Ran(int64_t task_id, std::chrono::nanoseconds run,
                      proto::TaskState state = proto::TASK_FINISHED) {
  proto::TaskStatus s = Finished(task_id, "r" + std::to_string(task_id));
  s.set_state(state);
  s.mutable_metrics()->set_run_nanos(run.count());
  return s;
}

bool AllLive(const std::string&) { return true; }

TaskSetOptions Speculating(const FakeClock* clock) {
  return TaskSetOptions{.speculation = true,
                        .speculation_multiplier = 1.5,
                        .speculation_quantile = 0.75,
                        .speculation_min_runtime = 100ms,
                        .clock = clock};
}

// Tasks 0 and 1 on executor a, 2 and 3 on b; 1, 2 and 3 finish after 1 s.
void StartFourAndFinishThree(TaskSetManager& m, FakeClock& clock) {
  REQUIRE(m.NextTask("a") == 0);
  REQUIRE(m.NextTask("a") == 1);
  REQUIRE(m.NextTask("b") == 2);
  REQUIRE(m.NextTask("b") == 3);
  clock.Advance(1s);
  m.OnStatus(1, Ran(1, 1s), On("a"));
  m.OnStatus(2, Ran(2, 1s), On("b"));
  m.OnStatus(3, Ran(3, 1s), On("b"));
}

// Then, 2 s later, task 0's copy starts on `executor`.
void CopyTaskZeroOn(TaskSetManager& m, FakeClock& clock, const std::string& executor) {
  clock.Advance(2s);
  REQUIRE(m.CheckSpeculation() == 1);
  REQUIRE(m.NextTask(executor) == 0);
}

// The outcome must hold result `result` from `executor` for task 0.
void ExpectTaskZeroFrom(TaskSetManager& m, const std::string& executor, const std::string& result) {
  REQUIRE(m.Done());
  TaskSetOutcome out = m.TakeOutcome();
  REQUIRE(out.status.ok());
  CHECK(out.results[0].executor->id == executor);
  CHECK(out.results[0].status.result() == result);
}

TEST_CASE("speculation: a task past 1.5x the median gets one copy on another executor",
          "[speculation]") {
  FakeClock clock;
  TaskSetManager m(MakeSet(4), Speculating(&clock), AllLive);
  StartFourAndFinishThree(m, clock);
  CHECK(m.CheckSpeculation() == 0);  // task 0 has run 1 s: not over 1.5 s yet
  CHECK_FALSE(m.waiting());
  clock.Advance(501ms);
  CHECK(m.CheckSpeculation() == 1);
  CHECK(m.CheckSpeculation() == 0);  // once per task
  CHECK(m.waiting());
  CHECK(m.NextTask("a") == -1);  // it runs there already
  CHECK(m.NextTask("c") == 0);
  CHECK(m.attempts(0) == 2);
  CHECK(m.speculative_launches() == 1);
  CHECK(m.running_on(0) == std::vector<std::string>{"a", "c"});
  CHECK_FALSE(m.waiting());

  // The copy finishes first: its result is the task's; the original's end changes nothing.
  m.OnStatus(0, Ran(10, 200ms), On("c"));
  REQUIRE(m.Done());
  m.OnStatus(0, Ran(0, 3s, proto::TASK_KILLED), On("a"));
  ExpectTaskZeroFrom(m, "c", "r10");
}

TEST_CASE("speculation: the original may still win, and the copy's end is ignored",
          "[speculation]") {
  FakeClock clock;
  TaskSetManager m(MakeSet(4), Speculating(&clock), AllLive);
  StartFourAndFinishThree(m, clock);
  CopyTaskZeroOn(m, clock, "b");
  m.OnStatus(0, Ran(0, 3s), On("a"));
  REQUIRE(m.Done());
  m.OnStatus(0, Ran(11, 1s), On("b"));  // finished too, late: not a second result
  ExpectTaskZeroFrom(m, "a", "r0");
}

TEST_CASE("speculation: nothing before the quantile has finished or before minTaskRuntime",
          "[speculation]") {
  FakeClock clock;
  TaskSetManager m(MakeSet(4), Speculating(&clock), AllLive);
  for (int i = 0; i < 4; ++i) REQUIRE(m.NextTask("a") == i);
  clock.Advance(10ms);
  m.OnStatus(1, Ran(1, 10ms), On("a"));
  m.OnStatus(2, Ran(2, 10ms), On("a"));
  clock.Advance(10s);
  CHECK(m.CheckSpeculation() == 0);  // 2 of 4 finished: below 0.75
  m.OnStatus(3, Ran(3, 10ms), On("a"));

  // Tasks of 10 ms: 1.5x is 15 ms, but none is speculated before 100 ms.
  FakeClock short_clock;
  TaskSetManager s(MakeSet(4), Speculating(&short_clock), AllLive);
  for (int i = 0; i < 4; ++i) REQUIRE(s.NextTask("a") == i);
  short_clock.Advance(10ms);
  for (int i = 1; i < 4; ++i) s.OnStatus(i, Ran(i, 10ms), On("a"));
  short_clock.Advance(80ms);  // task 0 at 90 ms
  CHECK(s.CheckSpeculation() == 0);
  short_clock.Advance(20ms);  // 110 ms
  CHECK(s.CheckSpeculation() == 1);
}

TEST_CASE("speculation: off by default", "[speculation]") {
  FakeClock clock;
  TaskSetManager m(MakeSet(4), TaskSetOptions{.clock = &clock}, AllLive);
  StartFourAndFinishThree(m, clock);
  clock.Advance(1h);
  CHECK(m.CheckSpeculation() == 0);
  CHECK_FALSE(m.waiting());
  CHECK(m.NextTask("c") == -1);
}

TEST_CASE("speculation: a failed copy is not queued again while the original runs",
          "[speculation]") {
  FakeClock clock;
  TaskSetManager m(MakeSet(4), Speculating(&clock), AllLive);
  StartFourAndFinishThree(m, clock);
  CopyTaskZeroOn(m, clock, "b");
  m.OnStatus(0, Ran(12, 1s, proto::TASK_FAILED), On("b"));
  CHECK_FALSE(m.waiting());  // the original still runs on a
  CHECK_FALSE(m.Done());
  m.OnStatus(0, Ran(0, 4s), On("a"));
  ExpectTaskZeroFrom(m, "a", "r0");
}

TEST_CASE("speculation: a killed attempt of a task without a result runs again", "[speculation]") {
  FakeClock clock;
  TaskSetManager m(MakeSet(1), Speculating(&clock), AllLive);
  REQUIRE(m.NextTask("a") == 0);
  m.OnStatus(0, Ran(0, 1s, proto::TASK_KILLED), On("a"));
  CHECK(m.waiting());
  CHECK(m.NextTask("b") == 0);
  m.OnStatus(0, Ran(1, 1s), On("b"));
  CHECK(m.TakeOutcome().status.ok());
}

}  // namespace
}  // namespace kiln::internal
