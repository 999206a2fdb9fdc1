#include "runtime/accumulators.h"

namespace kiln::runtime {
namespace {
thread_local TaskAccumulators* tl_accumulators = nullptr;
}  // namespace

proto::AccumulatorUpdate& TaskAccumulators::For(int64_t id) {
  if (last_ < updates_.size() && updates_[last_].id() == id) return updates_[last_];
  for (last_ = 0; last_ < updates_.size(); ++last_) {
    if (updates_[last_].id() == id) return updates_[last_];
  }
  updates_.emplace_back().set_id(id);
  return updates_.back();
}

void TaskAccumulators::MoveTo(proto::TaskStatus* status) {
  for (proto::AccumulatorUpdate& u : updates_) *status->add_accumulators() = std::move(u);
  updates_.clear();
  last_ = 0;
}

TaskAccumulators* CurrentTaskAccumulators() { return tl_accumulators; }
void SetTaskAccumulators(TaskAccumulators* accumulators) { tl_accumulators = accumulators; }

}  // namespace kiln::runtime
