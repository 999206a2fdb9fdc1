// The background primitives (common/background.h) and the cancellable retry
// (common/retry.h): ordering, batching, stopping promptly, draining, retrying.

#include "common/background.h"

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/retry.h"
#include "common/wait.h"
#include "tests/kiln_catch.h"

namespace kiln {
namespace {

using namespace std::chrono_literals;

// Runs `fn` on another thread and says whether it returned within `timeout`.
template <class Fn>
bool ReturnsWithin(std::chrono::seconds timeout, Fn fn) {
  auto done = std::async(std::launch::async, std::move(fn));
  return done.wait_for(timeout) == std::future_status::ready;
}

TEST_CASE("keyed serial queue: runs one key's closures in order, drops after Stop",
          "[background]") {
  KeyedSerialQueue queue(4);
  std::vector<int> order;  // written only by the key's closures, one at a time, until `done`
  absl::Notification done;
  for (int i = 0; i < 100; ++i) REQUIRE(queue.Post("w1", [&order, i] { order.push_back(i); }));
  queue.Post("w1", [&done] { done.Notify(); });
  queue.Start();
  REQUIRE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  queue.Stop();
  std::vector<int> expected;
  for (int i = 0; i < 100; ++i) expected.push_back(i);
  CHECK(order == expected);
  bool ran = false;
  CHECK_FALSE(queue.Post("w1", [&ran] { ran = true; }));
  queue.Stop();
  CHECK_FALSE(ran);
}

TEST_CASE("keyed serial queue: a key whose closure hangs holds back only that key",
          "[background]") {
  KeyedSerialQueue queue(2);
  queue.Start();
  absl::Notification release, started, other_ran, after_ran;
  std::atomic<bool> after_early{false};
  REQUIRE(queue.Post("dead", [&] {
    started.Notify();
    release.WaitForNotification();
  }));
  REQUIRE(queue.Post("dead", [&] {
    after_early = !release.HasBeenNotified();
    after_ran.Notify();
  }));
  REQUIRE(started.WaitForNotificationWithTimeout(absl::Seconds(30)));
  for (int i = 0; i < 3; ++i) REQUIRE(queue.Post("alive", [] {}));
  REQUIRE(queue.Post("alive", [&] { other_ran.Notify(); }));
  CHECK(other_ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
  CHECK_FALSE(after_ran.HasBeenNotified());  // still behind the hung closure
  release.Notify();
  CHECK(after_ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
  CHECK_FALSE(after_early);
  queue.Stop();
}

TEST_CASE("work queue: a batch handler gets everything queued, in order", "[background]") {
  std::vector<std::vector<int>> batches;  // the handler's thread only, until joined
  WorkQueue<int> queue({.threads = 1, .max_batch = 0},
                       [&](std::vector<int>& batch) { batches.push_back(batch); });
  REQUIRE(queue.PushAll({1, 2, 3}));
  REQUIRE(queue.Push(4));
  queue.Start();
  CHECK(queue.Drain(std::chrono::milliseconds::max()).empty());
  REQUIRE(batches.size() == 1);
  CHECK(batches[0] == std::vector<int>{1, 2, 3, 4});
  CHECK_FALSE(queue.Push(5));
}

TEST_CASE("work queue: RemoveIf and Close take queued items back unhandled", "[background]") {
  std::atomic<int> handled{0};
  WorkQueue<int> queue({.threads = 2}, [&](std::vector<int>& batch) { handled += batch.size(); });
  for (int i = 0; i < 10; ++i) REQUIRE(queue.Push(i));
  std::vector<int> odd = queue.RemoveIf([](const int& i) { return i % 2 == 1; });
  CHECK(odd == std::vector<int>{1, 3, 5, 7, 9});
  std::vector<int> rest = queue.Close();  // not started: nothing was handled
  CHECK(rest == std::vector<int>{0, 2, 4, 6, 8});
  CHECK(queue.closed());
  queue.Start();
  queue.Stop();
  CHECK(handled == 0);
}

TEST_CASE("work queue: Drain stops handling when its time is up", "[background]") {
  absl::Notification started, release;
  std::atomic<int> handled{0};
  WorkQueue<int> queue({.threads = 1}, [&](std::vector<int>&) {
    if (handled == 0) started.Notify();
    release.WaitForNotification();
    ++handled;
  });
  for (int i = 0; i < 3; ++i) REQUIRE(queue.Push(i));
  queue.Start();
  REQUIRE(started.WaitForNotificationWithTimeout(absl::Seconds(30)));
  std::future<std::vector<int>> left =
      std::async(std::launch::async, [&] { return queue.Drain(0ms); });
  REQUIRE(WaitFor([&] { return queue.closed(); }, 30s));
  release.Notify();  // the item in progress finishes; the drain time is already up
  std::vector<int> dropped = left.get();
  CHECK(handled == 1);
  CHECK(dropped == std::vector<int>{1, 2});
}

TEST_CASE("periodic thread: ticks, and Stop wakes the wait at once", "[background]") {
  std::atomic<int> ticks{0};
  absl::Notification ticked;
  PeriodicThread fast(1ms, [&] {
    if (++ticks == 3) ticked.Notify();
  });
  fast.Start();
  REQUIRE(ticked.WaitForNotificationWithTimeout(absl::Seconds(30)));
  fast.Stop();
  CHECK(fast.stopping());

  bool ran = false;
  PeriodicThread slow(std::chrono::hours(1), [&] { ran = true; });
  slow.Start();
  CHECK(ReturnsWithin(30s, [&] { slow.Stop(); }));
  CHECK_FALSE(ran);
}

TEST_CASE("stop signal: raised any number of times, wakes a waiter", "[background]") {
  StopSignal stop;
  CHECK_FALSE(stop.raised());
  CHECK_FALSE(stop.WaitFor(1ms));
  std::future<bool> waiter =
      std::async(std::launch::async, [&] { return stop.WaitFor(std::chrono::hours(1)); });
  stop.Raise();
  stop.Raise();
  REQUIRE(waiter.wait_for(30s) == std::future_status::ready);
  CHECK(waiter.get());
  CHECK(stop.raised());
}

TEST_CASE("retry: transient errors are retried until success", "[retry]") {
  int attempts = 0;
  absl::Status s = rpc::RetryUnavailable(
      {.what = "calling", .total = std::chrono::minutes(5), .initial_backoff = 1ms},
      [&] { return ++attempts < 3 ? absl::UnavailableError("not yet") : absl::OkStatus(); });
  CHECK(s.ok());
  CHECK(attempts == 3);
}

TEST_CASE("retry: a permanent error, or no time left, ends it with context", "[retry]") {
  int attempts = 0;
  absl::Status s =
      rpc::RetryUnavailable({.what = "calling x", .total = std::chrono::minutes(5)}, [&] {
        ++attempts;
        return absl::InvalidArgumentError("bad request");
      });
  CHECK(attempts == 1);
  CHECK(absl::IsInvalidArgument(s));
  CHECK(std::string(s.message()) == "calling x: bad request");

  attempts = 0;
  s = rpc::RetryUnavailable({.what = "calling y"}, [&] {
    ++attempts;
    return absl::UnavailableError("down");
  });
  CHECK(attempts == 1);  // total 0: one attempt
  CHECK(absl::IsUnavailable(s));

  attempts = 0;
  s = rpc::RetryUnavailable(
      {.total = std::chrono::minutes(5), .initial_backoff = 1ms},
      [&] {
        ++attempts;
        return absl::UnavailableError("down");
      },
      [&](const absl::Status&) { return attempts < 4; });
  CHECK(attempts == 4);  // the predicate decides what is retried
  CHECK(std::string(s.message()) == "down");
}

TEST_CASE("retry: a stop ends the wait between attempts at once", "[retry]") {
  StopSignal stop;
  std::atomic<int> attempts{0};
  absl::Notification first;
  std::future<absl::Status> result = std::async(std::launch::async, [&] {
    return rpc::RetryUnavailable({.total = std::chrono::hours(1),
                                  .initial_backoff = std::chrono::minutes(30),
                                  .max_backoff = std::chrono::minutes(30),
                                  .stop = &stop},
                                 [&] {
                                   if (++attempts == 1) first.Notify();
                                   return absl::UnavailableError("down");
                                 });
  });
  REQUIRE(first.WaitForNotificationWithTimeout(absl::Seconds(30)));
  stop.Raise();
  REQUIRE(result.wait_for(30s) == std::future_status::ready);
  absl::Status s = result.get();
  CHECK(absl::IsCancelled(s));
  CHECK(std::string(s.message()).find("down") != std::string::npos);
  CHECK(attempts == 1);
}

}  // namespace
}  // namespace kiln
