#pragma once
// TaskAccumulators: what the running task attempt added to accumulators, by accumulator
// id. RunTask installs one for the task's thread; an accumulator's add() inside a task
// goes there (CurrentTaskAccumulators), and the task's status carries the sums to the
// driver, which merges those of the attempt whose result it keeps (Spark's guarantee
// for actions: no double counting of retried or speculative attempts). Not
// thread-safe: one per task attempt, used by its thread.

#include <cstdint>
#include <string>
#include <vector>

#include "proto/task.pb.h"

namespace kiln::runtime {

class TaskAccumulators {
 public:
  void AddLong(int64_t id, int64_t v) {
    proto::AccumulatorUpdate& u = For(id);
    u.set_count(u.count() + 1);
    u.set_long_sum(u.long_sum() + v);
  }
  void AddDouble(int64_t id, double v) {
    proto::AccumulatorUpdate& u = For(id);
    u.set_count(u.count() + 1);
    u.set_double_sum(u.double_sum() + v);
  }
  void AddItem(int64_t id, std::string encoded) {
    proto::AccumulatorUpdate& u = For(id);
    u.set_count(u.count() + 1);
    u.add_items(std::move(encoded));
  }
  // Moves the updates into the task's status.
  void MoveTo(proto::TaskStatus* status);

 private:
  proto::AccumulatorUpdate& For(int64_t id);

  std::vector<proto::AccumulatorUpdate> updates_;  // few: a linear search is fastest
  size_t last_ = 0;                                // the last one found
};

// The accumulators of the task running on this thread; null outside a task.
TaskAccumulators* CurrentTaskAccumulators();
// Installs (or, with null, removes) this thread's task accumulators (RunTask does).
void SetTaskAccumulators(TaskAccumulators* accumulators);

}  // namespace kiln::runtime
