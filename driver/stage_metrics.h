#pragma once
// StageMetrics: what the tasks of one finished stage did, summed over their successful
// attempts, as the driver logs at the end of each job (one line per stage, at info) and
// as Context::last_job_stages() returns it.

#include <cstdint>
#include <string>

namespace kiln {

struct StageMetrics {
  int stage_id = 0;
  std::string name;  // the operator that ends the stage ("reduce_by_key", "count", ...)
  int tasks = 0;
  int64_t run_nanos = 0;  // summed over tasks
  int64_t records_read = 0;
  int64_t records_written = 0;
  int64_t shuffle_bytes_read = 0;
  int64_t shuffle_bytes_written = 0;
  int64_t spill_count = 0;
  int64_t memory_bytes_spilled = 0;   // in-memory size of what was spilled
  int64_t disk_bytes_spilled = 0;     // bytes of the spill files
  int64_t peak_execution_memory = 0;  // the largest of its tasks' peaks
  // Broadcast variables its tasks fetched over the network (once per executor each).
  int64_t broadcast_bytes = 0;
  // The task that read the most (shuffle bytes, or records for a stage that reads no
  // shuffle): its partition and what it read.
  int largest_partition = -1;
  int64_t largest_partition_bytes = 0;
  int64_t largest_partition_records = 0;
};

// One line: "stage 3 (sort_by_key): 8 tasks, read 1.2 GiB (40000000 records) ...".
std::string DescribeStage(const StageMetrics& stage);

// What a running task had spilled: "spilled 2 time(s) so far, 335.3 MiB in memory,
// 19.0 MiB on disk, peak execution memory 127.2 MiB".
std::string DescribeSpillsSoFar(int64_t spill_count, int64_t memory_bytes, int64_t disk_bytes,
                                int64_t peak_execution_memory);

}  // namespace kiln
