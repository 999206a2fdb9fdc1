#pragma once
// ExecutorPool: an application's executors as the task scheduler sees them — their
// handles, cores, cores in use, the stage plans each has been sent — in a round-robin
// order, so that a stage's tasks spread over them. Not thread-safe: the TaskScheduler's
// lock guards it.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "driver/executor_handle.h"

namespace kiln::internal {

class ExecutorPool {
 public:
  struct Executor {
    std::shared_ptr<ExecutorHandle> handle;
    int cores = 0;
    int free_cores = 0;                            // below 0 while tasks are launched ahead
    absl::flat_hash_set<std::string> known_plans;  // stage keys sent to it
  };

  void Add(std::shared_ptr<ExecutorHandle> executor);
  // False when it was not there.
  bool Remove(const std::string& id);
  Executor* Find(const std::string& id);
  bool Contains(const std::string& id) const { return executors_.contains(id); }

  size_t size() const { return order_.size(); }
  // The next executor in round-robin order; the pool must not be empty.
  Executor& Next();
  int TotalCores() const;
  std::vector<std::shared_ptr<ExecutorHandle>> Handles() const;

 private:
  absl::flat_hash_map<std::string, Executor> executors_;
  std::vector<std::string> order_;  // round-robin order
  size_t next_ = 0;
};

}  // namespace kiln::internal
