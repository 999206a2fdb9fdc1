#include "worker/runtime/task_pool.h"

#include "common/strings.h"
#include "worker/runtime/task_runner.h"

namespace kiln::runtime {

TaskPool::TaskPool(int threads, ExecutorEnv env, StatusCallback on_status)
    : env_(env), on_status_(std::move(on_status)) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

TaskPool::~TaskPool() { Stop(); }

void TaskPool::Submit(const proto::LaunchTasks& launch) {
  std::vector<proto::TaskStatus> unknown;
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
      queue_.push_back(Queued{it->second, task});
    }
  }
  for (proto::TaskStatus& status : unknown) on_status_(std::move(status));
}

void TaskPool::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    queue_.clear();
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void TaskPool::Loop() {
  while (true) {
    Queued next;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](TaskPool* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->queue_.empty();
          },
          this));
      if (stopping_) return;
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    on_status_(RunTask(*next.plan, next.task, env_));
  }
}

}  // namespace kiln::runtime
