#include "driver/stage_metrics.h"

#include "common/strings.h"
#include "common/units.h"

namespace kiln {

std::string DescribeStage(const StageMetrics& s) {
  std::string line = StrCat("stage ", s.stage_id, " (", s.name, "): ", s.tasks, " task(s), ",
                            s.run_nanos / 1000000, " ms of task time");
  if (s.shuffle_bytes_read > 0) {
    StrAppend(&line, ", shuffle read ", FormatBytes(s.shuffle_bytes_read));
  }
  StrAppend(&line, ", ", s.records_read, " records read");
  if (s.shuffle_bytes_written > 0) {
    StrAppend(&line, ", shuffle write ", FormatBytes(s.shuffle_bytes_written));
  }
  if (s.spill_count > 0) {
    StrAppend(&line, ", spilled ", s.spill_count, " time(s): ", FormatBytes(s.memory_bytes_spilled),
              " in memory, ", FormatBytes(s.disk_bytes_spilled), " on disk");
  } else {
    StrAppend(&line, ", no spill");
  }
  if (s.broadcast_bytes > 0) {
    StrAppend(&line, ", broadcast variables fetched ", FormatBytes(s.broadcast_bytes));
  }
  StrAppend(&line, ", peak task memory ", FormatBytes(s.peak_execution_memory));
  if (s.largest_partition >= 0) {
    StrAppend(&line, ", largest partition ", s.largest_partition, " (",
              s.largest_partition_bytes > 0 ? FormatBytes(s.largest_partition_bytes) + ", " : "",
              s.largest_partition_records, " records)");
  }
  return line;
}

std::string DescribeSpillsSoFar(int64_t spill_count, int64_t memory_bytes, int64_t disk_bytes,
                                int64_t peak_execution_memory) {
  return StrCat("spilled ", spill_count, " time(s) so far, ", FormatBytes(memory_bytes),
                " in memory, ", FormatBytes(disk_bytes), " on disk, peak execution memory ",
                FormatBytes(peak_execution_memory));
}

}  // namespace kiln
