#include "runtime/task_pool.h"

#include "common/strings.h"
#include "runtime/task_runner.h"

namespace kiln::runtime {

TaskPool::TaskPool(int threads, ExecutorEnv env, StatusCallback on_status)
    : env_(env),
      on_status_(std::move(on_status)),
      queue_({.threads = threads}, [this](std::vector<Queued>& batch) {
        for (Queued& q : batch) on_status_(RunTask(*q.plan, q.task, env_));
      }) {
  queue_.Start();
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
      tasks.push_back(Queued{it->second, task});
    }
  }
  queue_.PushAll(std::move(tasks));
  for (proto::TaskStatus& status : unknown) on_status_(std::move(status));
}

void TaskPool::Stop() { queue_.Stop(); }

}  // namespace kiln::runtime
