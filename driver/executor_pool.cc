#include "driver/executor_pool.h"

#include <algorithm>

namespace kiln::internal {

void ExecutorPool::Add(std::shared_ptr<ExecutorHandle> executor) {
  const ExecutorInfo& info = executor->info();
  if (!executors_.contains(info.id)) order_.push_back(info.id);
  executors_[info.id] = Executor{std::move(executor), info.cores, info.cores, {}};
}

bool ExecutorPool::Remove(const std::string& id) {
  if (executors_.erase(id) == 0) return false;
  order_.erase(std::remove(order_.begin(), order_.end(), id), order_.end());
  return true;
}

ExecutorPool::Executor* ExecutorPool::Find(const std::string& id) {
  auto it = executors_.find(id);
  return it == executors_.end() ? nullptr : &it->second;
}

ExecutorPool::Executor& ExecutorPool::Next() {
  return executors_.at(order_[next_++ % order_.size()]);
}

int ExecutorPool::TotalCores() const {
  int cores = 0;
  for (const auto& [id, ex] : executors_) cores += ex.cores;
  return cores;
}

std::vector<std::shared_ptr<ExecutorHandle>> ExecutorPool::Handles() const {
  std::vector<std::shared_ptr<ExecutorHandle>> out;
  for (const auto& [id, ex] : executors_) out.push_back(ex.handle);
  return out;
}

}  // namespace kiln::internal
