// Broadcast variables in local mode: tasks read the driver's own object (no copy), a
// broadcast hash join moves no shuffle data, and unpersist, destroy and misuse behave as
// the README says. The cluster path (chunks fetched once per executor, from peers) is
// tested in tests/jobs/broadcast_test.cc.

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "driver/kiln.h"
#include "tests/driver/local_test_util.h"
#include "tests/kiln_catch.h"

namespace kiln {
namespace {

using test::Local;
using test::Range;
using test::Sorted;

TEST_CASE("local broadcast: tasks read the driver's object itself", "[local][broadcast]") {
  Broadcast<std::vector<int64_t>> b = Local().broadcast(Range(1000));
  const auto driver_address = reinterpret_cast<uintptr_t>(&b.value());
  CHECK(b.value().size() == 1000);
  for (int slices : {1, 7, 40}) {
    INFO("partitions: " << slices);
    std::vector<uintptr_t> seen =
        Local()
            .parallelize(Range(slices), slices)
            .map([b](int64_t) { return reinterpret_cast<uintptr_t>(&b.value()); })
            .distinct()
            .collect();
    CHECK(seen == std::vector<uintptr_t>{driver_address});
    int64_t sum = Local()
                      .parallelize(Range(100), slices)
                      .map([b](int64_t i) { return b.value()[static_cast<size_t>(i * 7)]; })
                      .reduce([](int64_t x, int64_t y) { return x + y; });
    CHECK(sum == 7 * 99 * 100 / 2);
  }
  // Nothing crosses a network in local mode.
  for (const StageMetrics& stage : Local().last_job_stages()) CHECK(stage.broadcast_bytes == 0);
}

TEST_CASE("local broadcast: a broadcast hash join moves no shuffle data", "[local][broadcast]") {
  std::unordered_map<int64_t, std::string> names;
  for (int64_t k = 0; k < 100; k += 2) names[k] = "name" + std::to_string(k);  // evens only
  auto table = Local().broadcast(names);
  std::vector<std::pair<int64_t, int64_t>> orders;  // (customer, amount), skewed to key 0
  for (int64_t i = 0; i < 20000; ++i) orders.emplace_back(i % 7 == 0 ? 0 : i % 100, i);
  auto joined = Local()
                    .parallelize(orders, 12)
                    .flat_map([table](const std::pair<int64_t, int64_t>& o,
                                      Emit<std::pair<std::string, int64_t>>& out) {
                      auto it = table.value().find(o.first);
                      if (it != table.value().end()) out({it->second, o.second});
                    });
  std::vector<std::pair<std::string, int64_t>> expected;
  for (const auto& [customer, amount] : orders) {
    if (customer % 2 == 0) expected.emplace_back("name" + std::to_string(customer), amount);
  }
  CHECK(Sorted(joined.collect()) == Sorted(expected));
  const std::vector<StageMetrics> stages = Local().last_job_stages();
  REQUIRE(stages.size() == 1);
  CHECK(stages[0].shuffle_bytes_written == 0);
  CHECK(stages[0].shuffle_bytes_read == 0);
  // The same against an empty table, and a table of one partition's worth.
  auto empty = Local().broadcast(std::map<int64_t, int64_t>{});
  CHECK(Local()
            .parallelize(Range(50), 3)
            .filter([empty](int64_t x) { return empty.value().contains(x); })
            .count() == 0);
}

TEST_CASE("local broadcast: unpersist keeps it usable and destroy ends it", "[local][broadcast]") {
  auto b = Local().broadcast(std::string("hello"));
  CHECK(b.id() >= 0);
  auto length = [&] {
    return Local()
        .parallelize(Range(4), 2)
        .map([b](int64_t) { return static_cast<int64_t>(b.value().size()); })
        .reduce([](int64_t x, int64_t y) { return x + y; });
  };
  CHECK(length() == 20);
  b.unpersist();
  CHECK(length() == 20);
  CHECK(b.value() == "hello");
  b.destroy();
  const std::string destroyed = "broadcast " + std::to_string(b.id()) + " (std::";
  CHECK_THROWS_WITH(b.value(), Catch::Contains(destroyed) && Catch::Contains("was destroyed"));
  CHECK_THROWS_WITH(length(), Catch::Contains(destroyed) && Catch::Contains("was destroyed"));
  b.destroy();  // again: nothing happens
  b.unpersist();
  // Another broadcast is untouched.
  auto other = Local().broadcast(int64_t{7});
  CHECK(other.id() != b.id());
  CHECK(other.value() == 7);
}

TEST_CASE("local broadcast: unpersist or destroy in a task fails the task", "[local][broadcast]") {
  auto b = Local().broadcast(int64_t{1});
  CHECK_THROWS_WITH(Local().parallelize(Range(2), 2).foreach ([b](int64_t) { b.destroy(); }),
                    Catch::Contains("destroy() is called on the driver only"));
  CHECK(b.value() == 1);
}

}  // namespace
}  // namespace kiln
