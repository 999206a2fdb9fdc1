// Killing a task attempt (proto KillTasks): the thread running it sees TaskKilled(), and
// the batch path stops at the next batch boundary with CANCELLED.

#include <atomic>
#include <vector>

#include "runtime/operator.h"
#include "tests/kiln_catch.h"

namespace kiln::runtime {
namespace {

// Counts the batches pushed to it.
class CountingSink final : public Consumer<int> {
 public:
  absl::Status Push(std::vector<int>& batch) override {
    ++batches;
    records += static_cast<int>(batch.size());
    return absl::OkStatus();
  }
  absl::Status Finish(TaskContext&) override { return absl::OkStatus(); }
  int batches = 0;
  int records = 0;
};

absl::Status EmitBatch(BatchEmitter<int>& out) {
  for (size_t i = 0; i < kBatchSize; ++i) {
    if (absl::Status s = out.Emit(static_cast<int>(i)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

TEST_CASE("task kill: the batch after the kill is not pushed, and the flag is per thread",
          "[runtime][kill]") {
  CountingSink sink;
  Consumer<int>* next = &sink;
  BatchEmitter<int> out(&next);
  std::atomic<bool> killed{false};
  SetTaskKillFlag(&killed);
  REQUIRE(EmitBatch(out).ok());
  CHECK(sink.batches == 1);
  killed = true;
  CHECK(TaskKilled());
  absl::Status s = EmitBatch(out);
  CHECK(s.code() == absl::StatusCode::kCancelled);
  CHECK(sink.batches == 1);
  CHECK(sink.records == static_cast<int>(kBatchSize));
  SetTaskKillFlag(nullptr);  // the task ended: the thread's next task is not killed
  CHECK_FALSE(TaskKilled());
  CHECK(CheckNotKilled().ok());
}

}  // namespace
}  // namespace kiln::runtime
