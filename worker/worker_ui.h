#pragma once
// The worker's read-only status page and JSON (GET / and GET /json), as pure functions
// of the worker's identity, its executors and its drivers, so that tests need no HTTP.

#include <cstdint>
#include <string>
#include <vector>

#include "common/rpc_metrics.h"
#include "proto/master.pb.h"
#include "worker/driver_runner.h"
#include "worker/executor_table.h"

namespace kiln::worker {

struct WorkerInfo {
  std::string id;
  std::string host;
  int port = 0;
  int ui_port = 0;
  std::string master_url;
  int cores = 0;
  int64_t memory_mb = 0;
};

// {"id","host","port","masterurl","cores","coresused","memory","memoryused",
//  "executors":[{"appid","id","cores","memory","state","pid"}],
//  "finishedexecutors":[{"appid","id","state","exitcode","message"}],
//  "drivers":[{"id","name","attempt","cores","memory","state","pid","starttime"}],
//  "finisheddrivers":[{"id","name","attempt","cores","memory","state","starttime",
//                      "exitcode","message"}]};
// memory in MiB, starttime in ms since the epoch (0: it never ran); executor states
// LAUNCHING or RUNNING, then EXITED, KILLED or FAILED; driver states LAUNCHING or
// RUNNING, then FINISHED, FAILED, KILLED or ERROR (Spark's names). The cores and memory
// used count executors and drivers, as Spark's.
using FinishedReports = std::vector<proto::ExecutorStateChangedRequest>;
std::string WorkerJson(const WorkerInfo& info, const std::vector<ExecutorView>& executors,
                       const FinishedReports& finished, const DriverSnapshot& drivers);
// GET /metrics (Prometheus's text format): the worker's cores and memory and what its
// executors and drivers use, its executors and drivers by state, the shuffle blocks and
// bytes it served, and its gRPC calls.
struct ShuffleServed {
  int64_t blocks = 0;
  int64_t bytes = 0;
  int64_t broadcast_bytes = 0;  // chunks of broadcast variables
};
// How executors were started: in a standby process (kiln.worker.standbyExecutors) or
// forked at their launch, and the standby processes ready now.
struct LaunchCounts {
  int64_t from_standby = 0;
  int64_t forked = 0;
  int standby_ready = 0;
};
std::string WorkerMetrics(const WorkerInfo& info, const std::vector<ExecutorView>& executors,
                          const DriverSnapshot& drivers, ShuffleServed shuffle,
                          LaunchCounts launches, const RpcMetrics& rpc);
std::string WorkerHtml(const WorkerInfo& info, const std::vector<ExecutorView>& executors,
                       const FinishedReports& finished, const DriverSnapshot& drivers);

}  // namespace kiln::worker
