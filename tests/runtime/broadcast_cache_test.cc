// An executor's broadcast cache with a fake fetcher: one fetch per broadcast however
// many tasks ask at once, failures not remembered, the value counted in storage memory
// and kept alive for the tasks that use it after a removal.

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/codec.h"
#include "runtime/broadcasts.h"
#include "runtime/memory_manager.h"
#include "runtime/operator.h"
#include "tests/kiln_catch.h"

namespace kiln::runtime {
namespace {

class FakeFetcher final : public BroadcastFetcher {
 public:
  absl::StatusOr<std::string> Fetch(int64_t id, BroadcastFetchStats* stats) override {
    ++fetches;
    if (fail_next.exchange(false)) return absl::UnavailableError("the driver is away");
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&open));
    std::string encoded;
    Writer w(&encoded);
    Encode(w, std::string(static_cast<size_t>(1000 + id), 'a' + static_cast<char>(id)));
    stats->chunks = 1;
    stats->from_peers = static_cast<int64_t>(encoded.size());
    return encoded;
  }
  void Remove(int64_t id) override { removed.push_back(id); }

  std::atomic<int> fetches{0};
  std::atomic<bool> fail_next{false};
  absl::Mutex mu;
  bool open = true;  // false: fetches wait until it is set
  std::vector<int64_t> removed;
};

std::shared_ptr<const void> DecodeString(std::string_view encoded) {
  auto s = std::make_shared<std::string>();
  Reader r(encoded);
  Decode(r, *s);
  return s;
}

const std::string& Value(TaskBroadcasts& task, int64_t id) {
  return *static_cast<const std::string*>(task.Value(id, &DecodeString));
}

TEST_CASE("broadcast cache: tasks asking at once cause one fetch", "[broadcast]") {
  FakeFetcher fetcher;
  MemoryManager memory(100 << 20, 0.5);
  BroadcastCache cache(&fetcher, &memory);
  {
    absl::MutexLock lock(&fetcher.mu);
    fetcher.open = false;
  }
  std::vector<TaskContext> contexts(4);
  std::vector<const std::string*> seen(4);
  std::vector<std::thread> tasks;
  for (int t = 0; t < 4; ++t) {
    tasks.emplace_back([&, t] {
      TaskBroadcasts task(&cache, &contexts[t]);
      seen[t] = &Value(task, 1);
    });
  }
  {
    absl::MutexLock lock(&fetcher.mu);
    fetcher.open = true;
  }
  for (std::thread& t : tasks) t.join();
  CHECK(fetcher.fetches == 1);
  for (const std::string* s : seen) CHECK(s == seen[0]);
  CHECK(*seen[0] == std::string(1001, 'b'));
  int64_t fetched = 0;
  int fetching_tasks = 0;
  for (const TaskContext& ctx : contexts) {
    fetched += ctx.metrics.broadcast_bytes;
    fetching_tasks += ctx.metrics.broadcast_bytes > 0 ? 1 : 0;
  }
  CHECK(fetching_tasks == 1);  // the one that fetched is charged with it
  CHECK(fetched == 1003);      // two varint bytes of length, then the text
  CHECK(cache.size() == 1);
  CHECK(cache.storage_bytes() == 1003);
  CHECK(memory.Snapshot().storage_used == 1003);
}

TEST_CASE("broadcast cache: a failed fetch is retried by the next task", "[broadcast]") {
  FakeFetcher fetcher;
  BroadcastCache cache(&fetcher, nullptr);
  TaskContext ctx;
  TaskBroadcasts first(&cache, &ctx);
  fetcher.fail_next = true;
  CHECK_THROWS_WITH(Value(first, 0), "the driver is away");
  CHECK(cache.size() == 0);
  TaskBroadcasts second(&cache, &ctx);
  CHECK(Value(second, 0) == std::string(1000, 'a'));
  CHECK(fetcher.fetches == 2);
  TaskBroadcasts none(nullptr, &ctx);
  CHECK_THROWS_WITH(Value(none, 0), "broadcast 0: this task has no broadcast source");
}

TEST_CASE("broadcast cache: a removed value lives on for the tasks using it", "[broadcast]") {
  FakeFetcher fetcher;
  MemoryManager memory(100 << 20, 0.5);
  BroadcastCache cache(&fetcher, &memory);
  TaskContext ctx;
  auto running = std::make_unique<TaskBroadcasts>(&cache, &ctx);
  const std::string& value = Value(*running, 2);
  cache.Remove(2);
  CHECK(fetcher.removed == std::vector<int64_t>{2});
  CHECK(cache.size() == 0);
  CHECK(memory.Snapshot().storage_used == 0);
  CHECK(value == std::string(1002, 'c'));  // still valid in the running task
  CHECK(&Value(*running, 2) == &value);    // and the same for the rest of it
  running.reset();
  TaskBroadcasts next(&cache, &ctx);
  CHECK(Value(next, 2) == std::string(1002, 'c'));  // fetched again
  CHECK(fetcher.fetches == 2);
}

TEST_CASE("broadcast cache: storage memory too small holds the value outside the budget",
          "[broadcast]") {
  FakeFetcher fetcher;
  MemoryManager memory(100, 0.5);  // 100 bytes
  BroadcastCache cache(&fetcher, &memory);
  TaskContext ctx;
  TaskBroadcasts task(&cache, &ctx);
  CHECK(Value(task, 3).size() == 1003);
  CHECK(cache.storage_bytes() == 0);
  CHECK(memory.Snapshot().storage_used == 0);
}

}  // namespace
}  // namespace kiln::runtime
