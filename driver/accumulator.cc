#include "driver/accumulator.h"

#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include "common/strings.h"
#include "driver/accumulator_registry.h"
#include "runtime/accumulators.h"

namespace kiln {
namespace {

double Average(double sum, int64_t count) {
  return count == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / static_cast<double>(count);
}

// One value added on the driver, outside a task.
proto::AccumulatorUpdate OneValue(int64_t id) {
  proto::AccumulatorUpdate u;
  u.set_id(id);
  u.set_count(1);
  return u;
}

}  // namespace

internal::AccumulatorRegistry& AccumulatorHandle::OnDriver(const char* what) const {
  if (runtime::CurrentTaskAccumulators() != nullptr || registry_ == nullptr) {
    throw std::logic_error(
        StrCat("accumulator ", id_, ": ", what, " is read on the driver only, not in a task"));
  }
  return *registry_;
}

std::string AccumulatorHandle::name() const { return OnDriver("name()").Get(id_).name; }
int64_t AccumulatorHandle::count() const { return OnDriver("count()").Get(id_).count; }

void AccumulatorHandle::AddItem(std::string encoded) const {
  if (auto* task = runtime::CurrentTaskAccumulators())
    return task->AddItem(id_, std::move(encoded));
  proto::AccumulatorUpdate u = OneValue(id_);
  u.add_items(std::move(encoded));
  OnDriver("add()").Add(u);
}

void LongAccumulator::add(int64_t v) const {
  if (auto* task = runtime::CurrentTaskAccumulators()) return task->AddLong(id_, v);
  proto::AccumulatorUpdate u = OneValue(id_);
  u.set_long_sum(v);
  OnDriver("add()").Add(u);
}

int64_t LongAccumulator::sum() const { return OnDriver("value()").Get(id_).long_sum; }

double LongAccumulator::avg() const {
  internal::AccumulatorValue v = OnDriver("avg()").Get(id_);
  return Average(static_cast<double>(v.long_sum), v.count);
}

void DoubleAccumulator::add(double v) const {
  if (auto* task = runtime::CurrentTaskAccumulators()) return task->AddDouble(id_, v);
  proto::AccumulatorUpdate u = OneValue(id_);
  u.set_double_sum(v);
  OnDriver("add()").Add(u);
}

double DoubleAccumulator::sum() const { return OnDriver("value()").Get(id_).double_sum; }

double DoubleAccumulator::avg() const {
  internal::AccumulatorValue v = OnDriver("avg()").Get(id_);
  return Average(v.double_sum, v.count);
}

namespace internal {

std::vector<std::string> AccumulatorItems(AccumulatorRegistry& registry, int64_t id) {
  return registry.Get(id).items;
}

int64_t AccumulatorRegistry::Register(AccumulatorKind kind, std::string name) {
  absl::MutexLock lock(&mu_);
  values_.push_back(AccumulatorValue{.kind = kind, .name = std::move(name)});
  return static_cast<int64_t>(values_.size()) - 1;
}

void AccumulatorRegistry::AddSums(const proto::AccumulatorUpdate& u, AccumulatorValue& to) {
  to.count += u.count();
  to.long_sum += u.long_sum();
  to.double_sum += u.double_sum();
}

void AccumulatorRegistry::Apply(const proto::AccumulatorUpdate& u, AccumulatorValue& to) {
  AddSums(u, to);
  to.items.insert(to.items.end(), u.items().begin(), u.items().end());
}

void AccumulatorRegistry::Add(const proto::AccumulatorUpdate& update) {
  absl::MutexLock lock(&mu_);
  if (update.id() < 0 || static_cast<size_t>(update.id()) >= values_.size()) return;
  Apply(update, values_[static_cast<size_t>(update.id())]);
}

std::vector<AccumulableInfo> AccumulatorRegistry::MergeStage(
    const std::vector<const proto::TaskStatus*>& tasks, int job) {
  absl::MutexLock lock(&mu_);
  std::map<int64_t, AccumulatorValue> stage;  // the stage's update per accumulator (no items)
  for (const proto::TaskStatus* task : tasks) {
    for (const proto::AccumulatorUpdate& u : task->accumulators()) {
      // An id this driver never made (a handle from another Context) is ignored.
      if (u.id() < 0 || static_cast<size_t>(u.id()) >= values_.size()) continue;
      AccumulatorValue& value = values_[static_cast<size_t>(u.id())];
      Apply(u, value);
      value.last_job = job;
      AddSums(u, stage[u.id()]);
    }
  }
  std::vector<AccumulableInfo> out;
  for (const auto& [id, update] : stage) {
    const AccumulatorValue& value = values_[static_cast<size_t>(id)];
    if (value.name.empty()) continue;
    out.push_back(AccumulableInfo{
        .id = id,
        .name = value.name,
        .update = FormatAccumulator(value.kind, update.count, update.long_sum, update.double_sum),
        .value = FormatAccumulator(value.kind, value.count, value.long_sum, value.double_sum)});
  }
  return out;
}

AccumulatorValue AccumulatorRegistry::Get(int64_t id) const {
  absl::MutexLock lock(&mu_);
  if (id < 0 || static_cast<size_t>(id) >= values_.size()) return {};
  return values_[static_cast<size_t>(id)];
}

std::string AccumulatorRegistry::DescribeJob(int job) const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const AccumulatorValue& v : values_) {
    if (v.name.empty() || v.last_job != job) continue;
    StrAppend(&out, out.empty() ? "" : ", ", v.name, " = ",
              FormatAccumulator(v.kind, v.count, v.long_sum, v.double_sum));
  }
  return out;
}

std::string FormatAccumulator(AccumulatorKind kind, int64_t count, int64_t long_sum,
                              double double_sum) {
  switch (kind) {
    case AccumulatorKind::kLong:
      return StrCat(long_sum);
    case AccumulatorKind::kDouble:
      return StrCat(double_sum);
    case AccumulatorKind::kCollection:
      return StrCat(count, count == 1 ? " item" : " items");
  }
  return "";
}

}  // namespace internal
}  // namespace kiln
