// Dynamic allocation's decisions (ExecutorAllocationManager) with a FakeClock: how the
// target grows with a backlog, what caps it, when it falls, and which idle executors go.

#include "driver/executor_allocation.h"

#include <string>
#include <vector>

#include "tests/kiln_catch.h"

namespace kiln::internal {
namespace {

using namespace std::chrono_literals;

AllocationOptions Options(const FakeClock* clock) {
  AllocationOptions o;
  o.min_executors = 0;
  o.max_executors = 10;
  o.idle_timeout = 60s;
  o.backlog_timeout = 1s;
  o.sustained_backlog_timeout = 1s;
  o.cores_per_executor = 1;
  o.clock = clock;
  return o;
}

std::vector<ExecutorLoad> Idle(int n, bool cached = false) {
  std::vector<ExecutorLoad> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({.id = std::to_string(i), .cores = 1, .holds_cached_blocks = cached});
  }
  return out;
}

TEST_CASE("dynamic allocation: a lasting backlog grows the target 1, 2, 4... up to max",
          "[allocation]") {
  FakeClock clock;
  ExecutorAllocationManager m(Options(&clock));
  CHECK(m.target() == 0);
  CHECK_FALSE(m.Update(20, {}).target.has_value());  // the backlog starts now
  clock.Advance(999ms);
  CHECK_FALSE(m.Update(20, {}).target.has_value());
  clock.Advance(1ms);
  CHECK(m.Update(20, {}).target == 1);
  std::vector<int> targets;
  for (int round = 0; round < 4; ++round) {
    clock.Advance(1s);
    targets.push_back(m.Update(20, {}).target.value_or(-1));
  }
  CHECK(targets == std::vector<int>{3, 7, 10, -1});  // +2, +4, then capped at max
}

// `pending` tasks wait for 5 s, the manager looking every second; returns its target.
int TargetAfterBacklog(ExecutorAllocationManager& m, FakeClock& clock, int pending) {
  (void)m.Update(pending, {});
  for (int i = 0; i < 5; ++i) {
    clock.Advance(1s);
    (void)m.Update(pending, {});
  }
  return m.target();
}

TEST_CASE("dynamic allocation: the target never passes what the tasks need", "[allocation]") {
  FakeClock clock;
  AllocationOptions o = Options(&clock);
  o.cores_per_executor = 4;
  ExecutorAllocationManager m(o);
  CHECK(TargetAfterBacklog(m, clock, 10) == 3);  // 10 tasks, 4 per executor

  o.cores_per_executor = 1;
  o.allocation_ratio = 0.5;
  ExecutorAllocationManager half(o);
  CHECK(TargetAfterBacklog(half, clock, 10) == 5);
}

TEST_CASE("dynamic allocation: with no tasks the target falls to minExecutors at once",
          "[allocation]") {
  FakeClock clock;
  AllocationOptions o = Options(&clock);
  o.min_executors = 2;
  o.initial_executors = 6;
  ExecutorAllocationManager m(o);
  CHECK(m.target() == 6);
  CHECK(m.Update(0, Idle(6)).target == 2);
  // Running tasks count as needed too.
  ExecutorAllocationManager busy(o);
  std::vector<ExecutorLoad> running = Idle(6);
  for (ExecutorLoad& e : running) e.running_tasks = 1;
  CHECK(busy.Update(0, running).target == std::nullopt);
  CHECK(busy.target() == 6);
}

TEST_CASE("dynamic allocation: idle executors go after the idle timeout, keeping the minimum",
          "[allocation]") {
  FakeClock clock;
  AllocationOptions o = Options(&clock);
  o.min_executors = 1;
  ExecutorAllocationManager m(o);
  std::vector<ExecutorLoad> executors = Idle(3);
  executors[2].running_tasks = 1;  // busy: never idle
  CHECK(m.Update(0, executors).remove.empty());
  clock.Advance(59s);
  CHECK(m.Update(0, executors).remove.empty());
  clock.Advance(1s);
  AllocationDecision d = m.Update(0, executors);
  // Two idle ones, but three executors and a minimum of one: both may go.
  CHECK(d.remove == std::vector<std::string>{"0", "1"});

  ExecutorAllocationManager keep(o);
  std::vector<ExecutorLoad> all_idle = Idle(2);
  (void)keep.Update(0, all_idle);
  clock.Advance(60s);
  CHECK(keep.Update(0, all_idle).remove == std::vector<std::string>{"0"});  // one stays

  // A task resets the idle clock.
  ExecutorAllocationManager reset(o);
  std::vector<ExecutorLoad> two = Idle(2);
  (void)reset.Update(0, two);
  clock.Advance(50s);
  two[0].running_tasks = 1;
  (void)reset.Update(0, two);
  two[0].running_tasks = 0;
  clock.Advance(50s);
  CHECK(reset.Update(0, two).remove == std::vector<std::string>{"1"});
}

TEST_CASE("dynamic allocation: executors with cached blocks follow cachedExecutorIdleTimeout",
          "[allocation]") {
  FakeClock clock;
  AllocationOptions o = Options(&clock);
  ExecutorAllocationManager never(o);  // default: never
  (void)never.Update(0, Idle(2, /*cached=*/true));
  clock.Advance(24h);
  CHECK(never.Update(0, Idle(2, true)).remove.empty());

  o.cached_idle_timeout = 120s;
  ExecutorAllocationManager m(o);
  (void)m.Update(0, Idle(1, true));
  clock.Advance(60s);
  CHECK(m.Update(0, Idle(1, true)).remove.empty());
  clock.Advance(60s);
  CHECK(m.Update(0, Idle(1, true)).remove == std::vector<std::string>{"0"});
}

}  // namespace
}  // namespace kiln::internal
