#pragma once
// AccumulatorRegistry: the driver's accumulators (see driver/accumulator.h), by id:
// what the driver added, and the merged updates of the task attempts whose results
// were kept. Thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "driver/accumulator.h"
#include "driver/events.h"
#include "proto/task.pb.h"

namespace kiln::internal {

struct AccumulatorValue {
  AccumulatorKind kind = AccumulatorKind::kLong;
  std::string name;
  int64_t count = 0;
  int64_t long_sum = 0;
  double double_sum = 0;
  std::vector<std::string> items;  // encoded
  int last_job = -1;               // the last job whose tasks changed it
};

class AccumulatorRegistry {
 public:
  int64_t Register(AccumulatorKind kind, std::string name);

  // On the driver, outside tasks.
  void Add(const proto::AccumulatorUpdate& update);
  // The updates of the successful task attempts of one stage attempt of job `job`
  // (each attempt's updates, in task order). Returns the named accumulators it changed,
  // with the stage's update and their value after it.
  std::vector<AccumulableInfo> MergeStage(const std::vector<const proto::TaskStatus*>& tasks,
                                          int job);

  AccumulatorValue Get(int64_t id) const;
  // "name = value" of each named accumulator a task of job `job` changed, joined by
  // ", "; "" when none.
  std::string DescribeJob(int job) const;

 private:
  // The count and sums of `update` added to `to`; Apply adds its items too.
  static void AddSums(const proto::AccumulatorUpdate& update, AccumulatorValue& to);
  static void Apply(const proto::AccumulatorUpdate& update, AccumulatorValue& to);

  mutable absl::Mutex mu_;
  std::vector<AccumulatorValue> values_ ABSL_GUARDED_BY(mu_);  // index = id
};

// An accumulator's value as shown to people: the sum, or "N items".
std::string FormatAccumulator(AccumulatorKind kind, int64_t count, int64_t long_sum,
                              double double_sum);

}  // namespace kiln::internal
