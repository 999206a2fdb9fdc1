#pragma once
// ExecutorHandle: an executor as the task scheduler sees it: an in-process task pool
// (local mode) or a remote executor process behind its stream. Thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "proto/driver.pb.h"

namespace kiln::internal {

struct ExecutorInfo {
  std::string id;  // "0", "1", ... ("driver" in local mode)
  std::string host;
  int cores = 1;
  std::string worker_id;        // "" in local mode
  std::string shuffle_address;  // the worker's shuffle service; "" in local mode
  std::string log_url;          // where its worker serves its stdout and stderr; "" if none
};

class ExecutorHandle {
 public:
  explicit ExecutorHandle(ExecutorInfo info)
      : info_(std::make_shared<const ExecutorInfo>(std::move(info))) {}
  virtual ~ExecutorHandle() = default;
  const ExecutorInfo& info() const { return *info_; }
  // The same, for what outlives the handle or is kept per task: a task's result names
  // the executor it ran on (a copy of the five strings was 390 instructions and 250
  // bytes per task).
  const std::shared_ptr<const ExecutorInfo>& shared_info() const { return info_; }
  // Sends a batch of tasks. False when the executor is gone (the caller removes it).
  // Never called with a scheduler lock held.
  virtual bool Launch(const proto::LaunchTasks& launch) = 0;
  // Asks the executor to drop its cached blocks of `dataset` (unpersist). False when
  // the executor is gone. Never called with a scheduler lock held.
  virtual bool RemoveDataset(int dataset) = 0;
  // Asks the executor to drop its copy of broadcast variable `id` (unpersist, destroy).
  // False when the executor is gone. Never called with a scheduler lock held.
  virtual bool RemoveBroadcast(int64_t id) = 0;
  // Asks the executor to stop these task attempts (see proto KillTasks). False when the
  // executor is gone. Never called with a scheduler lock held.
  virtual bool KillTasks(const proto::KillTasks& kill) = 0;

 private:
  const std::shared_ptr<const ExecutorInfo> info_;
};

}  // namespace kiln::internal
