#pragma once
// What a task attempt did, as its operators count it: runtime::TaskMetrics, sent to the
// driver in its status as proto::TaskMetrics, and kept by the driver's status store as
// runtime::TaskMetrics again (a plain struct: copied and summed for every task, where a
// message's copy and setters cost more than the figures).
//
// KILN_TASK_METRICS(X): every figure, as X(name), in the order of proto::TaskMetrics's
// fields. Both types have a field of each name, so that code over all of them (copying
// between the two, summing per stage and executor, logging them) is written once, without
// protobuf reflection. tests/driver/events_test.cc checks this list against the message.

#include <cstdint>
#include <string>

#define KILN_TASK_METRICS(X) \
  X(run_nanos)               \
  X(records_read)            \
  X(records_written)         \
  X(shuffle_bytes_written)   \
  X(shuffle_bytes_read)      \
  X(peak_execution_memory)   \
  X(spill_count)             \
  X(memory_bytes_spilled)    \
  X(disk_bytes_spilled)      \
  X(input_bytes)             \
  X(input_read_nanos)        \
  X(shuffle_records_read)    \
  X(shuffle_local_bytes)     \
  X(shuffle_remote_bytes)    \
  X(shuffle_local_blocks)    \
  X(shuffle_remote_blocks)   \
  X(fetch_wait_nanos)        \
  X(shuffle_records_written) \
  X(shuffle_write_nanos)     \
  X(output_bytes)            \
  X(output_records)          \
  X(result_bytes)            \
  X(broadcast_bytes)         \
  X(broadcast_fetch_nanos)

namespace kiln::proto {
class TaskMetrics;
}  // namespace kiln::proto

namespace kiln::runtime {

struct TaskMetrics {
  int64_t run_nanos = 0;
  int64_t records_read = 0;
  int64_t records_written = 0;
  int64_t shuffle_bytes_written = 0;
  int64_t shuffle_bytes_read = 0;
  int64_t peak_execution_memory = 0;  // bytes (TaskMemory::peak)
  int64_t spill_count = 0;            // spill files written
  int64_t memory_bytes_spilled = 0;   // in-memory size of what was spilled
  int64_t disk_bytes_spilled = 0;     // bytes of the spill files
  // Input files or splits: bytes read, and the time blocked reading them.
  int64_t input_bytes = 0;
  int64_t input_read_nanos = 0;
  // Shuffle reads: records, stored bytes and non-empty blocks from this worker's disk and
  // from other workers, and the time blocked on them (local reads, remote chunks).
  int64_t shuffle_records_read = 0;
  int64_t shuffle_local_bytes = 0;
  int64_t shuffle_remote_bytes = 0;
  int64_t shuffle_local_blocks = 0;
  int64_t shuffle_remote_blocks = 0;
  int64_t fetch_wait_nanos = 0;
  // Shuffle writes: records, and the time spent in the writer (partition, encode,
  // compress, spill, write).
  int64_t shuffle_records_written = 0;
  int64_t shuffle_write_nanos = 0;
  // Output files (save_as_text_file): bytes and records written.
  int64_t output_bytes = 0;
  int64_t output_records = 0;
  int64_t result_bytes = 0;  // the encoded result sent to the driver
  // Broadcast variables this task fetched for its executor (the first task there to use
  // one): bytes over the network (from the driver and other workers), and the time the
  // fetch and decode took.
  int64_t broadcast_bytes = 0;
  int64_t broadcast_fetch_nanos = 0;
};
#define KILN_COUNT_METRIC(name) +1
static_assert(sizeof(TaskMetrics) == sizeof(int64_t) * (0 KILN_TASK_METRICS(KILN_COUNT_METRIC)),
              "every field of TaskMetrics is listed in KILN_TASK_METRICS (above)");
#undef KILN_COUNT_METRIC

// One task's metrics as the driver's status store keeps them, for as many as
// kiln.ui.retainedTasks tasks per stage: a bit per non-zero figure, then those figures as
// varints. Most figures of a task are zero (a map task reads no shuffle, a short one
// spills nothing), so that an empty task's take 3 to 10 bytes, inline in the string, and
// a busy one's 40 to 80, against 192 for the struct (at 100,000 tasks, 19 MB less to
// fault in: the UI's extra page faults fell from 10,300 to 4,300).
class PackedTaskMetrics {
 public:
  PackedTaskMetrics() = default;
  explicit PackedTaskMetrics(const TaskMetrics& metrics);
  TaskMetrics Unpack() const;

 private:
  std::string bytes_;
};

// Adds `m` to `sum`, field by field; peak_execution_memory keeps the larger.
void AddTaskMetrics(const TaskMetrics& m, TaskMetrics* sum);

// To and from the proto form (a task's status, its progress reports).
void MetricsToProto(const TaskMetrics& metrics, proto::TaskMetrics* out);
TaskMetrics MetricsFromProto(const proto::TaskMetrics& metrics);

}  // namespace kiln::runtime
