#include "runtime/task_pool.h"

#include "common/strings.h"
#include "runtime/task_runner.h"

namespace kiln::runtime {

TaskPool::TaskPool(int threads, ExecutorEnv env, StatusCallback on_status)
    : env_(env),
      on_status_(std::move(on_status)),
      queue_({.threads = threads}, [this](std::vector<Queued>& batch) {
        for (Queued& q : batch) Run(q);
      }) {
  queue_.Start();
}

void TaskPool::Run(Queued& q) {
  proto::TaskStatus status;
  if (q.killed->load()) {
    status.set_task_id(q.task.task_id());
    status.set_state(proto::TASK_KILLED);
    status.set_error("killed by the driver before it started");
  } else {
    status = RunTask(*q.plan, q.task, env_, q.killed.get());
  }
  {
    absl::MutexLock lock(&mu_);
    kill_flags_.erase(q.task.task_id());
  }
  on_status_(std::move(status));
}

void TaskPool::Kill(const std::vector<int64_t>& task_ids) {
  absl::MutexLock lock(&mu_);
  for (int64_t id : task_ids) {
    if (auto it = kill_flags_.find(id); it != kill_flags_.end()) it->second->store(true);
  }
}

TaskPool::~TaskPool() { Stop(); }

void TaskPool::Submit(const proto::LaunchTasks& launch) {
  std::vector<proto::TaskStatus> unknown;
  std::vector<Queued> tasks;
  {
    absl::MutexLock lock(&mu_);
    for (const proto::StagePlan& plan : launch.plans()) {
      plans_[plan.stage_key()] = std::make_shared<const proto::StagePlan>(plan);
    }
    for (const proto::TaskDescription& task : launch.tasks()) {
      auto it = plans_.find(task.stage_key());
      if (it == plans_.end()) {
        proto::TaskStatus status;
        status.set_task_id(task.task_id());
        status.set_state(proto::TASK_FAILED);
        status.set_error(StrCat("executor has no plan for stage ", task.stage_key()));
        unknown.push_back(std::move(status));
        continue;
      }
      auto flag = std::make_shared<std::atomic<bool>>(false);
      kill_flags_[task.task_id()] = flag;
      tasks.push_back(Queued{it->second, task, std::move(flag)});
    }
  }
  queue_.PushAll(std::move(tasks));
  for (proto::TaskStatus& status : unknown) on_status_(std::move(status));
}

void TaskPool::Stop() {
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, flag] : kill_flags_) flag->store(true);
  }
  queue_.Stop();
}

}  // namespace kiln::runtime
