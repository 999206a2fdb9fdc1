#pragma once
// KILN_TASK_METRICS(X): every figure a task attempt reports, as X(name), in the order of
// proto::TaskMetrics's fields. runtime::TaskMetrics (operator.h) and proto::TaskMetrics
// have a field of each name, so that code over all of them (copying them to the status,
// summing them per stage and executor, logging them) is written once, without protobuf
// reflection: it runs for every task, where reflection cost microseconds a task.
// tests/driver/events_test.cc checks this list against the message's fields.
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
  X(result_bytes)
