#pragma once
// The job doctor: reads a finished job's task metrics (an AppState, live or replayed from
// an event log) and says what is wrong, with the evidence and what to change:
//   skew        a task read more than `skew_factor` times its stage's median and more than
//               `skew_min_bytes` (Spark AQE's skewedPartitionFactor and threshold);
//   spill       a stage spilled: how much, and the memory or partition count that would
//               have held it;
//   partitions  many tiny tasks (median under `tiny_task_ms`), or fewer tasks than cores
//               in a long stage: the count to use, with coalesce or repartition;
//   straggler   an executor whose tasks ran over `straggler_factor` times the median of
//               the other executors' tasks, on no more input;
//   failures    retried task attempts, lost executors (with the reason their worker
//               gave, which carries the tail of their stderr), and whether memory ran
//               out on the executors or on the driver.
// A healthy job gets no finding.

#include <cstdint>
#include <string>
#include <vector>

#include "common/settings.h"
#include "driver/app_status.h"
#include "driver/job_finding.h"

namespace kiln::internal {

using Finding = JobFinding;

struct DoctorOptions {
  double skew_factor = 5;                 // kiln.doctor.skewedPartitionFactor
  int64_t skew_min_bytes = 64LL << 20;    // kiln.doctor.skewedPartitionThreshold
  int64_t tiny_task_ms = 20;              // kiln.doctor.tinyTaskDuration
  double straggler_factor = 3;            // kiln.doctor.stragglerFactor
  int64_t straggler_min_excess_ms = 200;  // a straggler runs at least this much longer
  int64_t few_tasks_min_stage_ms = 2000;  // "too few tasks" only for stages this long
  // The memory tasks share, for the spill advice: kiln.executor.memory, or in local mode
  // (where tasks run in the driver) kiln.driver.memory.
  std::string memory_setting = "kiln.executor.memory";
  int64_t memory_mb = 1024;
};

DoctorOptions DoctorOptionsFrom(const Config& conf);
// The same from the settings an application logged in its ApplicationStart.
DoctorOptions DoctorOptionsFrom(const AppState& app);

std::vector<Finding> DiagnoseJob(const AppState& app, int job_id, const DoctorOptions& options);

// "kiln doctor: job 3 (count): 2 findings" and each finding, indented; "" for none.
std::string FormatFindings(const AppState& app, int job_id, const std::vector<Finding>& findings);

}  // namespace kiln::internal
