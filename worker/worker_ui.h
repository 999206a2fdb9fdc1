#pragma once
// The worker's read-only status page and JSON (GET / and GET /json), as pure functions
// of the worker's identity and its executors, so that tests need no HTTP.

#include <cstdint>
#include <string>
#include <vector>

#include "proto/master.pb.h"
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
//  "finishedexecutors":[{"appid","id","state","exitcode","message"}]}; memory in MiB,
// state LAUNCHING or RUNNING, then EXITED, KILLED or FAILED (Spark's names).
using FinishedReports = std::vector<proto::ExecutorStateChangedRequest>;
std::string WorkerJson(const WorkerInfo& info, const std::vector<ExecutorView>& executors,
                       const FinishedReports& finished);
std::string WorkerHtml(const WorkerInfo& info, const std::vector<ExecutorView>& executors,
                       const FinishedReports& finished);

}  // namespace kiln::worker
