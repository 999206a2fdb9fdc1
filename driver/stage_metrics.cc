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
  StrAppend(&line, ", peak task memory ", FormatBytes(s.peak_execution_memory));
  if (s.largest_partition >= 0) {
    StrAppend(&line, ", largest partition ", s.largest_partition, " (",
              s.largest_partition_bytes > 0 ? FormatBytes(s.largest_partition_bytes) + ", " : "",
              s.largest_partition_records, " records)");
  }
  return line;
}

}  // namespace kiln
