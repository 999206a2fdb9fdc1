#include "driver/task_scheduler.h"

#include <algorithm>

#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace kiln::internal {

void TaskScheduler::AddExecutor(std::shared_ptr<ExecutorHandle> executor) {
  std::vector<Launch> launches;
  {
    absl::MutexLock lock(&mu_);
    const ExecutorInfo& info = executor->info();
    executor_order_.push_back(info.id);
    executors_[info.id] = Executor{std::move(executor), info.cores, info.cores, {}};
    launches = AssignLocked();
  }
  SendLaunches(std::move(launches));
}

void TaskScheduler::RemoveExecutor(const std::string& executor_id, const std::string& reason) {
  std::vector<Launch> launches;
  {
    absl::MutexLock lock(&mu_);
    if (executors_.erase(executor_id) == 0) return;
    executor_order_.erase(std::remove(executor_order_.begin(), executor_order_.end(), executor_id),
                          executor_order_.end());
    if (cache_ != nullptr) cache_->RemoveExecutor(executor_id);
    // Tasks that waited for this executor alone may now run anywhere.
    if (auto local = local_.find(executor_id); local != local_.end()) {
      for (int index : local->second) {
        const auto& preferred = set_.tasks[index].preferred;
        bool live = std::any_of(preferred.begin(), preferred.end(),
                                [&](const std::string& id) { return executors_.contains(id); });
        if (queued_[index] && !live) anywhere_.push_back(index);
      }
      local_.erase(local);
    }
    int requeued = 0;
    for (auto it = running_.begin(); it != running_.end();) {
      if (it->second.executor_id != executor_id) {
        ++it;
        continue;
      }
      if (active_ && it->second.generation == generation_ && !results_[it->second.index]) {
        EnqueueLocked(it->second.index);
        ++requeued;
      }
      running_.erase(it++);
    }
    if (requeued > 0) {
      spdlog::warn("executor={} lost ({}); {} running task(s) rescheduled", executor_id, reason,
                   requeued);
    } else {
      spdlog::info("executor={} removed ({})", executor_id, reason);
    }
    launches = AssignLocked();
  }
  SendLaunches(std::move(launches));
}

void TaskScheduler::OnStatuses(const std::string& executor_id,
                               std::vector<proto::TaskStatus> statuses) {
  std::vector<Launch> launches;
  {
    absl::MutexLock lock(&mu_);
    for (proto::TaskStatus& status : statuses) HandleStatusLocked(executor_id, status);
    launches = AssignLocked();
  }
  SendLaunches(std::move(launches));
}

void TaskScheduler::HandleStatusLocked(const std::string& executor_id, proto::TaskStatus& status) {
  if (cache_ != nullptr && executors_.contains(executor_id)) {
    for (const proto::BlockUpdate& update : status.block_updates()) {
      cache_->Update(executor_id, update);
    }
  }
  auto it = running_.find(status.task_id());
  if (it == running_.end()) return;  // from an executor already removed
  Running run = it->second;
  running_.erase(it);
  auto ex = executors_.find(run.executor_id);
  if (ex != executors_.end()) ++ex->second.free_cores;
  if (!active_ || run.generation != generation_ || results_[run.index]) return;  // stale

  const int index = run.index;
  const ExecutorInfo info = ex != executors_.end() ? ex->second.handle->info() : ExecutorInfo{};
  switch (status.state()) {
    case proto::TASK_FINISHED:
      finished_nanos_ += status.metrics().run_nanos();
      results_[index] = TaskResult{std::move(status), info};
      ++done_;
      return;
    case proto::TASK_FETCH_FAILED:
      if (!fetch_failed_) {
        fetch_failed_ = FetchFailed{status.fetch_failed_shuffle(), status.fetch_failed_map(),
                                    status.fetch_failed_address(), status.error()};
      }
      return;
    default: {
      const std::string where = StrCat("executor ", info.id, ", host ", info.host);
      ++failures_[index];
      spdlog::warn("task {} of stage {} failed on {} (attempt {}): {}",
                   set_.tasks[index].partition, set_.plan.stage_id(), where, attempts_[index],
                   status.error());
      if (failures_[index] >= options_.max_failures) {
        failure_ = absl::AbortedError(StrCat(
            "Job aborted due to stage failure: task ", set_.tasks[index].partition, " in stage ",
            set_.plan.stage_id(), " failed ", failures_[index], " times, most recent failure (",
            where, "): ", status.error()));
      } else {
        EnqueueLocked(index);
      }
    }
  }
}

std::vector<TaskScheduler::Launch> TaskScheduler::AssignLocked() {
  std::vector<Launch> launches;
  if (!active_ || !failure_.ok() || fetch_failed_ || waiting_ == 0 || executor_order_.empty()) {
    return launches;
  }
  absl::flat_hash_map<std::string, size_t> slot;  // executor id -> index in launches
  size_t bytes = 0;
  // Round-robin over executors, one task at a time, so a stage spreads over them.
  size_t idle_rounds = 0;
  while (waiting_ > 0 && idle_rounds < executor_order_.size()) {
    const std::string& id = executor_order_[next_executor_ % executor_order_.size()];
    ++next_executor_;
    Executor& ex = executors_[id];
    bool local = false;
    int index = ex.free_cores <= -LaunchAheadLocked(ex.cores) ? -1 : NextTaskLocked(id, &local);
    if (index < 0) {
      ++idle_rounds;
      continue;
    }
    idle_rounds = 0;
    if (local) last_local_launch_ = options_.clock->Now();
    --ex.free_cores;
    auto [it, inserted] = slot.try_emplace(id, launches.size());
    if (inserted) launches.push_back(Launch{ex.handle, {}});
    proto::LaunchTasks& message = launches[it->second].message;
    if (!ex.known_plans.contains(set_.plan.stage_key())) {
      ex.known_plans[set_.plan.stage_key()] = true;
      *message.add_plans() = set_.plan;
      bytes += set_.plan.ByteSizeLong();
    }
    proto::TaskDescription* task = message.add_tasks();
    task->set_task_id(next_task_id_);
    task->set_stage_key(set_.plan.stage_key());
    task->set_partition(set_.tasks[index].partition);
    task->set_attempt(attempts_[index]++);
    task->set_split(set_.tasks[index].split);
    bytes += set_.tasks[index].split.size() + 32;
    running_[next_task_id_++] = Running{id, index, generation_};
    if (bytes > options_.max_launch_bytes) slot.erase(id);  // start a new message
  }
  return launches;
}

void TaskScheduler::EnqueueLocked(int index) {
  if (queued_[index]) return;
  queued_[index] = 1;
  ++waiting_;
  bool live = false;
  for (const std::string& id : set_.tasks[index].preferred) {
    if (!executors_.contains(id)) continue;
    local_[id].push_back(index);
    live = true;
  }
  (live ? preferring_ : anywhere_).push_back(index);
  if (live) delay_armed_ = true;
}

int TaskScheduler::NextTaskLocked(const std::string& id, bool* local) {
  auto take = [this](std::deque<int>& queue) {
    while (!queue.empty()) {
      int index = queue.front();
      queue.pop_front();
      if (!queued_[index]) continue;  // taken from another queue
      queued_[index] = 0;
      --waiting_;
      return index;
    }
    return -1;
  };
  if (auto it = local_.find(id); it != local_.end()) {
    int index = take(it->second);
    if (index >= 0) {
      *local = true;
      return index;
    }
  }
  int index = take(anywhere_);
  if (index >= 0) return index;
  if (options_.clock->Now() - last_local_launch_ < options_.locality_wait) return -1;
  return take(preferring_);
}

bool TaskScheduler::DelayingLocked(std::chrono::nanoseconds* left) const {
  bool waiting = std::any_of(preferring_.begin(), preferring_.end(),
                             [this](int index) { return queued_[index] != 0; });
  if (!waiting) return false;
  *left = options_.locality_wait - (options_.clock->Now() - last_local_launch_);
  return left->count() > 0;
}

void TaskScheduler::SendLaunches(std::vector<Launch> launches) {
  for (Launch& launch : launches) {
    if (!launch.handle->Launch(launch.message)) {
      RemoveExecutor(launch.handle->info().id, "its connection is gone");
    }
  }
}

int TaskScheduler::LaunchAheadLocked(int cores) const {
  // Until a task of the stage has finished, its tasks' length is unknown: no launch ahead.
  if (done_ == 0 || finished_nanos_ / done_ >= options_.short_task.count()) return 0;
  return options_.launch_ahead * cores;
}

bool TaskScheduler::SetDoneLocked() const {
  return !stopped_.empty() || !failure_.ok() || fetch_failed_.has_value() ||
         done_ == static_cast<int>(set_.tasks.size());
}

TaskSetOutcome TaskScheduler::RunTaskSet(TaskSet set) {
  std::vector<Launch> launches;
  {
    absl::MutexLock lock(&mu_);
    ++generation_;
    active_ = true;
    const size_t n = set.tasks.size();
    set_ = std::move(set);
    anywhere_.clear();
    preferring_.clear();
    local_.clear();
    queued_.assign(n, 0);
    waiting_ = 0;
    last_local_launch_ = options_.clock->Now();
    for (size_t i = 0; i < n; ++i) EnqueueLocked(static_cast<int>(i));
    attempts_.assign(n, 0);
    failures_.assign(n, 0);
    results_.assign(n, std::nullopt);
    done_ = 0;
    finished_nanos_ = 0;
    failure_ = absl::OkStatus();
    fetch_failed_.reset();
    launches = AssignLocked();
  }
  SendLaunches(std::move(launches));

  absl::MutexLock lock(&mu_);
  // Wakes when the set is done, and when a task starts to wait for its preferred
  // executors (a retry, or a task of a lost executor): then the locality wait needs
  // a timer again.
  const absl::Condition wake(
      +[](TaskScheduler* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
        return self->SetDoneLocked() || self->delay_armed_;
      },
      this);
  while (!SetDoneLocked()) {
    std::chrono::nanoseconds left{};
    delay_armed_ = false;
    if (!DelayingLocked(&left)) {
      mu_.Await(wake);
      continue;
    }
    // Tasks wait for their preferred executors: when the wait runs out, any executor
    // may take them.
    mu_.AwaitWithTimeout(wake, absl::FromChrono(left));
    launches = AssignLocked();
    if (launches.empty()) continue;
    mu_.Unlock();
    SendLaunches(std::move(launches));
    mu_.Lock();
  }
  TaskSetOutcome outcome;
  active_ = false;
  anywhere_.clear();
  preferring_.clear();
  local_.clear();
  waiting_ = 0;
  if (!stopped_.empty()) {
    outcome.status = absl::CancelledError(stopped_);
  } else if (!failure_.ok()) {
    outcome.status = failure_;
  } else if (fetch_failed_) {
    outcome.fetch_failed = fetch_failed_;
  } else {
    for (auto& r : results_) outcome.results.push_back(std::move(*r));
  }
  return outcome;
}

int TaskScheduler::TotalCores() const {
  absl::MutexLock lock(&mu_);
  int cores = 0;
  for (const auto& [id, ex] : executors_) cores += ex.handle->info().cores;
  return cores;
}

int TaskScheduler::ExecutorCount() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(executors_.size());
}

bool TaskScheduler::WaitForCores(int cores, std::chrono::milliseconds timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!stopped_.empty()) return true;
    int total = 0;
    for (const auto& [id, ex] : executors_) total += ex.handle->info().cores;
    return total >= cores;
  };
  mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Milliseconds(timeout.count()));
  return stopped_.empty() && enough();
}

void TaskScheduler::RemoveDataset(int dataset) {
  std::vector<std::shared_ptr<ExecutorHandle>> handles;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, ex] : executors_) handles.push_back(ex.handle);
  }
  // An executor that is gone is removed when its stream closes; nothing to do here.
  for (auto& handle : handles) handle->RemoveDataset(dataset);
}

void TaskScheduler::Stop(const std::string& reason) {
  absl::MutexLock lock(&mu_);
  stopped_ = reason.empty() ? "stopped" : reason;
}

StageProgress TaskScheduler::Progress() const {
  absl::MutexLock lock(&mu_);
  StageProgress p;
  p.active = active_;
  if (!active_) return p;
  p.stage_id = set_.plan.stage_id();
  p.total = static_cast<int>(set_.tasks.size());
  p.done = done_;
  for (const auto& [id, run] : running_) p.running += run.generation == generation_ ? 1 : 0;
  return p;
}

}  // namespace kiln::internal
