#include "runtime/task_metrics.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <type_traits>

#include "proto/task.pb.h"

namespace kiln::runtime {

static_assert(std::is_trivially_copyable_v<TaskMetrics>);

void AddTaskMetrics(const TaskMetrics& m, TaskMetrics* sum) {
  // As arrays, so that the compiler adds them a vector register at a time: this runs
  // three times for every task the driver hears of.
  constexpr size_t kFields = sizeof(TaskMetrics) / sizeof(int64_t);
  std::array<int64_t, kFields> add, to;
  std::memcpy(add.data(), &m, sizeof(m));
  std::memcpy(to.data(), sum, sizeof(m));
  for (size_t i = 0; i < kFields; ++i) to[i] += add[i];
  const int64_t peak = std::max(sum->peak_execution_memory, m.peak_execution_memory);
  std::memcpy(static_cast<void*>(sum), to.data(), sizeof(m));
  sum->peak_execution_memory = peak;  // a peak is not a sum: the largest of them
}

void MetricsToProto(const TaskMetrics& m, proto::TaskMetrics* out) {
#define KILN_COPY_METRIC(name) out->set_##name(m.name);
  KILN_TASK_METRICS(KILN_COPY_METRIC)
#undef KILN_COPY_METRIC
}

TaskMetrics MetricsFromProto(const proto::TaskMetrics& m) {
  TaskMetrics out;
#define KILN_COPY_METRIC(name) out.name = m.name();
  KILN_TASK_METRICS(KILN_COPY_METRIC)
#undef KILN_COPY_METRIC
  return out;
}

}  // namespace kiln::runtime
