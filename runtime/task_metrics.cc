#include "runtime/task_metrics.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <type_traits>

#include "common/codec.h"
#include "proto/task.pb.h"

namespace kiln::runtime {

static_assert(std::is_trivially_copyable_v<TaskMetrics>);

namespace {

constexpr size_t kFields = sizeof(TaskMetrics) / sizeof(int64_t);
static_assert(kFields <= 32, "PackedTaskMetrics marks the non-zero figures in 32 bits");

std::array<int64_t, kFields> Fields(const TaskMetrics& m) {
  std::array<int64_t, kFields> out;
  std::memcpy(out.data(), &m, sizeof(m));
  return out;
}

}  // namespace

PackedTaskMetrics::PackedTaskMetrics(const TaskMetrics& metrics) {
  const std::array<int64_t, kFields> fields = Fields(metrics);
  uint32_t present = 0;
  for (size_t i = 0; i < kFields; ++i) present |= fields[i] != 0 ? 1u << i : 0;
  // Into a buffer, then one copy: for most tasks, into the string's own inline room.
  char buf[kMaxVarintBytes * (kFields + 1)];
  char* end = PutVarint(buf, present);
  for (uint32_t rest = present; rest != 0; rest &= rest - 1) {
    // As unsigned: a negative figure (none should be) takes ten bytes and comes back.
    end =
        PutVarint(end, static_cast<uint64_t>(fields[static_cast<size_t>(std::countr_zero(rest))]));
  }
  bytes_.assign(buf, static_cast<size_t>(end - buf));
}

TaskMetrics PackedTaskMetrics::Unpack() const {
  std::array<int64_t, kFields> fields{};
  Reader in(bytes_);
  for (uint64_t rest = in.GetVarint(); rest != 0 && in.ok(); rest &= rest - 1) {
    const auto i = static_cast<size_t>(std::countr_zero(rest));
    if (i < kFields) fields[i] = static_cast<int64_t>(in.GetVarint());
  }
  TaskMetrics out;
  std::memcpy(static_cast<void*>(&out), fields.data(), sizeof(out));
  return out;
}

void AddTaskMetrics(const TaskMetrics& m, TaskMetrics* sum) {
  // As arrays, so that the compiler adds them a vector register at a time: this runs
  // three times for every task the driver hears of.
  const std::array<int64_t, kFields> add = Fields(m);
  std::array<int64_t, kFields> to = Fields(*sum);
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
