// TaskSetManager driven by hand, on one thread, with a FakeClock: queues, attempts,
// failures, fetch failures, delay scheduling and launch-ahead.

#include "driver/task_set_manager.h"

#include <string>
#include <vector>

#include "tests/driver/fake_executor.h"
#include "tests/kiln_catch.h"

namespace kiln::internal {
namespace {

using namespace std::chrono_literals;

proto::TaskStatus Done(int64_t task_id, std::chrono::nanoseconds run = 1s) {
  proto::TaskStatus s = Finished(task_id, "r" + std::to_string(task_id));
  s.mutable_metrics()->set_run_nanos(run.count());
  return s;
}

proto::TaskStatus Failure(const std::string& error) {
  proto::TaskStatus s;
  s.set_state(proto::TASK_FAILED);
  s.set_error(error);
  return s;
}

// Executors "a" and "b" are live, nothing else.
bool Live(const std::string& id) { return id == "a" || id == "b"; }

TEST_CASE("task set: tasks go out in order and the outcome holds every result", "[task_set]") {
  TaskSetManager m(MakeSet(3), {}, Live);
  CHECK(m.waiting());
  CHECK(m.NextTask("a") == 0);
  CHECK(m.NextTask("b") == 1);
  CHECK(m.NextTask("a") == 2);
  CHECK(m.NextTask("a") == -1);
  CHECK_FALSE(m.waiting());
  CHECK(m.attempts(0) == 1);
  for (int i : {2, 0, 1}) m.OnStatus(i, Done(i), On("a"));
  REQUIRE(m.Done());
  TaskSetOutcome out = m.TakeOutcome();
  REQUIRE(out.status.ok());
  REQUIRE(out.results.size() == 3);
  for (int i = 0; i < 3; ++i) CHECK(out.results[i].status.result() == "r" + std::to_string(i));
  CHECK(out.results[0].executor->id == "a");
}

TEST_CASE("task set: a failed task runs again, and fails the set after max_failures",
          "[task_set]") {
  TaskSetManager m(MakeSet(1), {.max_failures = 2}, Live);
  REQUIRE(m.NextTask("a") == 0);
  m.OnStatus(0, Failure("boom"), On("a"));
  CHECK_FALSE(m.Done());
  REQUIRE(m.NextTask("b") == 0);
  CHECK(m.attempts(0) == 2);
  m.OnStatus(0, Failure("boom again"), On("b"));
  REQUIRE(m.Done());
  TaskSetOutcome out = m.TakeOutcome();
  REQUIRE_FALSE(out.status.ok());
  const std::string message(out.status.message());
  CHECK(message.find("failed 2 times") != std::string::npos);
  CHECK(message.find("executor b, host host-b") != std::string::npos);
  CHECK(message.find("boom again") != std::string::npos);
}

TEST_CASE("task set: results past max_result_bytes fail the set naming the setting", "[task_set]") {
  // Results "r0".."r3" are 2 bytes each: 3 fit in 6 bytes, the 4th does not.
  TaskSetManager m(MakeSet(4), {.max_result_bytes = 6}, Live);
  for (int i = 0; i < 4; ++i) REQUIRE(m.NextTask("a") == i);
  for (int i = 0; i < 3; ++i) {
    m.OnStatus(i, Done(i), On("a"));
    CHECK_FALSE(m.Done());
  }
  m.OnStatus(3, Done(3), On("a"));
  REQUIRE(m.Done());
  TaskSetOutcome out = m.TakeOutcome();
  REQUIRE_FALSE(out.status.ok());
  CHECK(out.status.code() == absl::StatusCode::kResourceExhausted);
  const std::string message(out.status.message());
  CHECK(message.find("results of 4 tasks (8 B)") != std::string::npos);
  CHECK(message.find("kiln.driver.maxResultSize (6 B)") != std::string::npos);
  CHECK(message.find("save_as_text_file") != std::string::npos);
  // No limit: the same results are fine.
  TaskSetManager unlimited(MakeSet(4), {}, Live);
  for (int i = 0; i < 4; ++i) REQUIRE(unlimited.NextTask("a") == i);
  for (int i = 0; i < 4; ++i) unlimited.OnStatus(i, Done(i), On("a"));
  CHECK(unlimited.TakeOutcome().status.ok());
}

TEST_CASE("task set: a failed task runs elsewhere while another live executor has not failed it",
          "[task_set]") {
  TaskSetManager m(MakeSet(3), {}, Live);
  REQUIRE(m.NextTask("a", 2) == 0);
  m.OnStatus(0, Failure("No space left on device"), On("a"));
  CHECK(m.NextTask("a", 2) == 1);  // a passes over task 0...
  CHECK(m.NextTask("a", 2) == 2);
  CHECK(m.NextTask("a", 2) == -1);  // ...and leaves it queued
  CHECK(m.waiting());
  CHECK(m.NextTask("b", 2) == 0);  // for b
  m.OnStatus(0, Failure("again"), On("b"));
  // It failed on both live executors: either may take it again.
  CHECK(m.NextTask("a", 2) == 0);
  CHECK(m.attempts(0) == 3);
  // With one live executor, the one it failed on takes it at once.
  TaskSetManager alone(MakeSet(1), {}, Live);
  REQUIRE(alone.NextTask("a", 1) == 0);
  alone.OnStatus(0, Failure("boom"), On("a"));
  CHECK(alone.NextTask("a", 1) == 0);
}

TEST_CASE("task set: a lost attempt is queued again without counting as a failure", "[task_set]") {
  TaskSetManager m(MakeSet(2), {.max_failures = 1}, Live);
  REQUIRE(m.NextTask("a") == 0);
  REQUIRE(m.NextTask("a") == 1);
  m.OnStatus(1, Done(1), On("a"));
  m.Requeue(0, "a");
  m.Requeue(1, "a");  // already finished: stays finished
  CHECK(m.NextTask("b") == 0);
  CHECK(m.NextTask("b") == -1);
  m.OnStatus(0, Done(0), On("b"));
  REQUIRE(m.Done());
  CHECK(m.TakeOutcome().status.ok());
}

TEST_CASE("task set: a fetch failure ends the set, later statuses change nothing", "[task_set]") {
  TaskSetManager m(MakeSet(2), {}, Live);
  REQUIRE(m.NextTask("a") == 0);
  REQUIRE(m.NextTask("a") == 1);
  proto::TaskStatus s;
  s.set_state(proto::TASK_FETCH_FAILED);
  s.set_fetch_failed_shuffle(4);
  s.set_fetch_failed_map(1);
  s.set_fetch_failed_address("10.0.0.1:7078");
  s.set_error("stream broke");
  m.OnStatus(0, s, On("a"));
  REQUIRE(m.Done());
  m.OnStatus(1, Done(1), On("a"));
  CHECK(m.NextTask("a") == -1);
  TaskSetOutcome out = m.TakeOutcome();
  CHECK(out.status.ok());
  REQUIRE(out.fetch_failed.has_value());
  CHECK(out.fetch_failed->shuffle_id == 4);
  CHECK(out.fetch_failed->map_id == 1);
  CHECK(out.fetch_failed->address == "10.0.0.1:7078");
  CHECK(out.fetch_failed->message == "stream broke");
  CHECK(out.results.empty());
}

TEST_CASE("task set: tasks wait for their preferred executor up to the locality wait",
          "[task_set]") {
  FakeClock clock;
  TaskSetManager m(MakeSet(3, {"b"}), {.locality_wait = 3000ms, .clock = &clock}, Live);
  CHECK(m.locality_armed());
  std::chrono::nanoseconds left{};
  REQUIRE(m.Delaying(&left));
  CHECK(left == 3000ms);
  CHECK(m.NextTask("a") == -1);  // a is free, but the tasks wait for b
  CHECK(m.NextTask("b") == 0);
  clock.Advance(2999ms);
  CHECK(m.NextTask("a") == -1);
  REQUIRE(m.Delaying(&left));
  CHECK(left == 1ms);
  // The wait counts from the last launch on a preferred executor.
  CHECK(m.NextTask("b") == 1);
  clock.Advance(2999ms);
  CHECK(m.NextTask("a") == -1);
  clock.Advance(1ms);
  CHECK_FALSE(m.Delaying(&left));
  CHECK(m.NextTask("a") == 2);  // past it, any executor takes the task
}

TEST_CASE("task set: without a live preferred executor a task runs anywhere at once",
          "[task_set]") {
  FakeClock clock;
  TaskSet set = MakeSet(3, {"b"});
  set.tasks[2].preferred = {"gone"};  // never registered
  TaskSetManager m(std::move(set), {.locality_wait = 3600s, .clock = &clock}, Live);
  CHECK(m.NextTask("a") == 2);
  CHECK(m.NextTask("a") == -1);
  // b is lost: the tasks that waited for it alone go to a without waiting.
  m.ExecutorLost("b");
  CHECK(m.NextTask("a") == 0);
  CHECK(m.NextTask("a") == 1);
}

TEST_CASE("task set: a retried task waits for its preferred executor again", "[task_set]") {
  FakeClock clock;
  TaskSetManager m(MakeSet(1, {"b"}), {.locality_wait = 3000ms, .clock = &clock}, Live);
  REQUIRE(m.NextTask("b") == 0);
  m.ClearLocalityArmed();
  m.OnStatus(0, Failure("flaky"), On("b"));
  CHECK(m.locality_armed());  // the scheduler's timer must be re-armed
  CHECK(m.NextTask("a") == -1);
  CHECK(m.NextTask("b") == 0);
}

TEST_CASE("task set: short tasks are launched ahead, long ones are not", "[task_set]") {
  TaskSetManager m(MakeSet(4), {.launch_ahead = 2, .short_task = 20ms}, Live);
  CHECK(m.LaunchAhead(3) == 0);  // nothing finished yet: the tasks' length is unknown
  REQUIRE(m.NextTask("a") == 0);
  m.OnStatus(0, Done(0, 1ms), On("a"));
  CHECK(m.LaunchAhead(3) == 6);
  REQUIRE(m.NextTask("a") == 1);
  m.OnStatus(1, Done(1, 999ms), On("a"));  // the mean is now 500 ms
  CHECK(m.LaunchAhead(3) == 0);
}

TEST_CASE("task set: tiny tasks are launched ahead by about 2 ms of work, up to the cap",
          "[task_set]") {
  TaskSetManager m(MakeSet(4), {.launch_ahead = 2, .short_task = 20ms}, Live);
  REQUIRE(m.NextTask("a") == 0);
  m.OnStatus(0, Done(0, 100us), On("a"));
  CHECK(m.LaunchAhead(2) == 40);  // 2 ms / 100 us per core
  REQUIRE(m.NextTask("a") == 1);
  m.OnStatus(1, Done(1, 0us), On("a"));  // the mean is now 50 us
  CHECK(m.LaunchAhead(1) == 40);
  REQUIRE(m.NextTask("a") == 2);
  m.OnStatus(2, Done(2, 0us), On("a"));
  REQUIRE(m.NextTask("a") == 3);
  m.OnStatus(3, Done(3, 0us), On("a"));  // 25 us: 80 per core
  CHECK(m.LaunchAhead(1) == 80);
  TaskSetManager tiny(MakeSet(1), {.launch_ahead = 2, .short_task = 20ms}, Live);
  REQUIRE(tiny.NextTask("a") == 0);
  tiny.OnStatus(0, Done(0, 1us), On("a"));
  CHECK(tiny.LaunchAhead(2) == 2 * TaskSetManager::kMaxLaunchAhead);
  // A launchAhead above the cap is what a core gets.
  TaskSetManager more(MakeSet(1), {.launch_ahead = 1000, .short_task = 20ms}, Live);
  REQUIRE(more.NextTask("a") == 0);
  more.OnStatus(0, Done(0, 1us), On("a"));
  CHECK(more.LaunchAhead(1) == 1000);
}

TEST_CASE("task set: an empty set is done at once", "[task_set]") {
  TaskSetManager m(MakeSet(0), {}, Live);
  CHECK(m.Done());
  CHECK(m.NextTask("a") == -1);
  CHECK(m.TakeOutcome().results.empty());
}

}  // namespace
}  // namespace kiln::internal
