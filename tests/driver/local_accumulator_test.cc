// Accumulators in local mode: sums over jobs against sums computed here, Spark's
// counting rules (once per kept task attempt; a transformation's additions again each
// time it runs), and reads from a task refused.

#include <atomic>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
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

TEST_CASE("local accumulators: long, double and collection sums of a job", "[local][accumulator]") {
  for (int slices : {1, 7, 40}) {
    INFO("partitions: " << slices);
    LongAccumulator evens = Local().long_accumulator("evens");
    DoubleAccumulator halves = Local().double_accumulator("halves");
    CollectionAccumulator<std::string> fives = Local().collection_accumulator<std::string>("5s");
    LongAccumulator total = Local().long_accumulator();
    Local().parallelize(Range(1000), slices).foreach ([=](int64_t x) {
      if (x % 2 == 0) evens.add(1);
      halves.add(static_cast<double>(x) * 0.5);
      if (x % 100 == 5) fives.add("n" + std::to_string(x));
      total.add(x);
    });
    CHECK(evens.value() == 500);
    CHECK(evens.count() == 500);
    CHECK(evens.avg() == 1.0);
    CHECK(evens.name() == "evens");
    CHECK(halves.value() == 0.5 * 999 * 1000 / 2);
    CHECK(halves.count() == 1000);
    CHECK(halves.avg() == 0.5 * 999 / 2);
    std::vector<std::string> expected;
    for (int64_t x = 5; x < 1000; x += 100) expected.push_back("n" + std::to_string(x));
    CHECK(Sorted(fives.value()) == Sorted(expected));
    CHECK(total.value() == 999 * 1000 / 2);
    CHECK(total.name().empty());
  }
}

TEST_CASE("local accumulators: nothing added, and additions on the driver",
          "[local][accumulator]") {
  LongAccumulator none = Local().long_accumulator("none");
  DoubleAccumulator nothing = Local().double_accumulator();
  CHECK(none.value() == 0);
  CHECK(none.count() == 0);
  CHECK(std::isnan(none.avg()));
  CHECK(std::isnan(nothing.avg()));
  CHECK(Local().collection_accumulator<int64_t>().value().empty());
  Local().parallelize(std::vector<int64_t>{}, 3).foreach ([none](int64_t x) { none.add(x); });
  CHECK(none.value() == 0);
  // On the driver, outside a job: added at once.
  none.add(5);
  none.add(-2);
  CHECK(none.value() == 3);
  CHECK(none.count() == 2);
  Local().parallelize(Range(4), 2).foreach ([none](int64_t x) { none.add(x); });
  CHECK(none.value() == 9);
}

TEST_CASE("local accumulators: additions in a transformation count each time it runs",
          "[local][accumulator]") {
  LongAccumulator seen = Local().long_accumulator("seen");
  auto mapped = Local().parallelize(Range(100), 4).map([seen](int64_t x) {
    seen.add(1);
    return x;
  });
  CHECK(mapped.count() == 100);
  CHECK(mapped.count() == 100);
  CHECK(seen.value() == 200);  // computed twice (Spark's caveat for transformations)
  // Cached: the second job replays the blocks and adds nothing.
  LongAccumulator once = Local().long_accumulator("once");
  auto cached = Local()
                    .parallelize(Range(100), 4)
                    .map([once](int64_t x) {
                      once.add(1);
                      return x;
                    })
                    .cache();
  CHECK(cached.count() == 100);
  CHECK(cached.count() == 100);
  CHECK(once.value() == 100);
  cached.unpersist();
  // A shuffle: the map side's additions, then the reduce side's.
  LongAccumulator sides = Local().long_accumulator("sides");
  auto sums = Local()
                  .parallelize(Range(50), 3)
                  .map([sides](int64_t x) {
                    sides.add(1);
                    return std::pair<int64_t, int64_t>(x % 5, x);
                  })
                  .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 2)
                  .map_values([sides](int64_t v) {
                    sides.add(1000);
                    return v;
                  });
  CHECK(sums.count() == 5);
  CHECK(sides.value() == 50 + 5 * 1000);
}

TEST_CASE("local accumulators: a failed attempt's additions are dropped", "[local][accumulator]") {
  Context retrying(ContextOptions{.master = "local[2,3]",
                                  .conf = {"kiln.ui.showConsoleProgress=false"},
                                  .exit_on_failure = false});
  LongAccumulator seen = retrying.long_accumulator("seen");
  CollectionAccumulator<int64_t> items = retrying.collection_accumulator<int64_t>("items");
  static std::atomic<bool> failed{false};
  failed = false;
  retrying.parallelize(Range(100), 4).foreach ([seen, items](int64_t x) {
    seen.add(1);
    items.add(x);
    // The task of partition 2 fails once, after adding 10 records' worth.
    if (x == 60 && !failed.exchange(true)) throw std::runtime_error("fails once after adding");
  });
  CHECK(failed);
  CHECK(seen.value() == 100);
  CHECK(Sorted(items.value()) == Range(100));
  // A job that fails adds nothing for its failed task; its other tasks may have counted.
  LongAccumulator failing = retrying.long_accumulator("failing");
  auto always = retrying.parallelize(Range(10), 1).map([failing](int64_t x) {
    failing.add(1);
    if (x == 9) throw std::runtime_error("always fails");
    return x;
  });
  CHECK_THROWS_WITH(always.count(), Catch::Contains("always fails"));
  CHECK(failing.value() == 0);
}

TEST_CASE("local accumulators: value() in a task fails the task", "[local][accumulator]") {
  LongAccumulator acc = Local().long_accumulator("read in a task");
  auto reading =
      Local().parallelize(Range(10), 2).map([acc](int64_t x) { return x + acc.value(); });
  CHECK_THROWS_WITH(reading.count(), Catch::Contains("is read on the driver only, not in a task"));
}

}  // namespace
}  // namespace kiln
