#include "driver/task_scheduler.h"

#include <algorithm>
#include <utility>

#include "common/clock.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace kiln::internal {

void TaskScheduler::AddExecutor(std::shared_ptr<ExecutorHandle> executor) {
  Launches launches;
  {
    absl::MutexLock lock(&mu_);
    const ExecutorInfo& info = executor->info();
    Post(ExecutorAdded{.executor_id = info.id,
                       .host = info.host,
                       .cores = info.cores,
                       .worker_id = info.worker_id,
                       .log_url = info.log_url,
                       .time_ms = EpochMillis()});
    pool_.Add(std::move(executor));
    launches = AssignLocked();
  }
  SendLaunches(std::move(launches));
}

void TaskScheduler::RemoveExecutor(const std::string& executor_id, const std::string& reason) {
  Launches launches;
  {
    absl::MutexLock lock(&mu_);
    ExecutorPool::Executor* executor = pool_.Find(executor_id);
    if (executor == nullptr) return;
    LostAttempts lost{.executor = executor->handle->info(), .generation = generation_};
    pool_.Remove(executor_id);
    if (cache_ != nullptr) cache_->RemoveExecutor(executor_id);
    if (set_ != nullptr) set_->ExecutorLost(executor_id);
    int requeued = 0;
    for (auto it = running_.begin(); it != running_.end();) {
      if (it->second.executor_id != executor_id) {
        ++it;
        continue;
      }
      const runtime::TaskMetrics so_far =
          it->second.so_far != nullptr ? *it->second.so_far : runtime::TaskMetrics{};
      PostTaskEnd(it->second, TaskState::kExecutorLost,
                  StrCat("executor ", executor_id, " lost: ", reason), so_far);
      if (set_ != nullptr && it->second.generation == generation_ &&
          !set_->has_result(it->second.index)) {
        set_->Requeue(it->second.index, executor_id);
        lost.indices.push_back(it->second.index);
        lost.task_ids.push_back(it->first);
        lost.so_far.push_back(so_far);
        ++requeued;
      }
      running_.erase(it++);
    }
    if (auto failed = failed_.find(executor_id); failed != failed_.end()) {
      CountLostLocked(lost, failed->second);
      failed_.erase(failed);
    } else if (!lost.indices.empty()) {
      lost_[executor_id] = std::move(lost);
    }
    Post(ExecutorRemoved{.executor_id = executor_id, .reason = reason, .time_ms = EpochMillis()});
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

void TaskScheduler::ExecutorFailed(const std::string& executor_id, const std::string& reason,
                                   int64_t crashed_task_id) {
  Launches launches;
  {
    absl::MutexLock lock(&mu_);
    const Failure failure{.reason = reason, .crashed_task_id = crashed_task_id};
    Post(ExecutorRemoved{
        .executor_id = executor_id, .reason = reason, .failed = true, .time_ms = EpochMillis()});
    auto lost = lost_.find(executor_id);
    if (lost != lost_.end()) {
      CountLostLocked(lost->second, failure);
      lost_.erase(lost);
    } else if (pool_.Contains(executor_id)) {
      failed_[executor_id] = failure;  // counted when its stream closes
    } else {
      last_unregistered_failure_ = StrCat("executor ", executor_id, ": ", reason);
    }
    launches = AssignLocked();
  }
  SendLaunches(std::move(launches));
}

void TaskScheduler::CountLostLocked(const LostAttempts& lost, const Failure& failure) {
  spdlog::warn("executor={} on host {} failed: {}", lost.executor.id, lost.executor.host,
               failure.reason);
  if (set_ == nullptr || lost.generation != generation_) return;
  // The task that crashed it, if it said so and ran there: it alone counts a failure.
  const bool known = std::find(lost.task_ids.begin(), lost.task_ids.end(),
                               failure.crashed_task_id) != lost.task_ids.end();
  for (size_t i = 0; i < lost.indices.size(); ++i) {
    if (known && lost.task_ids[i] != failure.crashed_task_id) continue;
    set_->CountLostAttempt(lost.indices[i], lost.executor, failure.reason, lost.so_far[i]);
  }
}

void TaskScheduler::OnProgress(const std::string& executor_id,
                               const std::vector<proto::TaskProgress>& progress) {
  absl::MutexLock lock(&mu_);
  for (const proto::TaskProgress& p : progress) {
    auto it = running_.find(p.task_id());
    if (it != running_.end() && it->second.executor_id == executor_id) {
      std::unique_ptr<runtime::TaskMetrics>& so_far = it->second.so_far;
      if (so_far == nullptr) so_far = std::make_unique<runtime::TaskMetrics>();
      *so_far = runtime::MetricsFromProto(p.metrics());  // its later reports reuse it
    }
  }
}

void TaskScheduler::OnStatuses(const std::string& executor_id,
                               std::vector<proto::TaskStatus> statuses) {
  Launches launches;
  Kills kills;
  {
    absl::MutexLock lock(&mu_);
    for (proto::TaskStatus& status : statuses) HandleStatusLocked(executor_id, status, &kills);
    launches = AssignLocked();
  }
  SendKills(std::move(kills));
  SendLaunches(std::move(launches));
}

void TaskScheduler::KillOtherAttemptsLocked(int index, int64_t except_task_id, Kills* kills) {
  for (const auto& [task_id, run] : running_) {
    if (run.generation != generation_ || run.index != index || task_id == except_task_id) continue;
    ExecutorPool::Executor* ex = pool_.Find(run.executor_id);
    if (ex == nullptr) continue;
    const std::string reason = StrCat("another attempt of task ", set_->task(index).partition,
                                      " of stage ", set_->set().plan.stage_id(), " finished first");
    Kill& kill = (*kills)[run.executor_id];
    kill.handle = ex->handle;
    kill.message.add_task_ids(task_id);
    kill.message.set_reason(reason);
    spdlog::info("killing attempt task_id={} on executor {}: {}", task_id, run.executor_id, reason);
  }
}

void TaskScheduler::SendKills(Kills kills) {
  // An executor that is gone is removed when its stream closes; nothing to do here.
  for (auto& [id, kill] : kills) (void)kill.handle->KillTasks(kill.message);
}

void TaskScheduler::HandleStatusLocked(const std::string& executor_id, proto::TaskStatus& status,
                                       Kills* kills) {
  ExecutorPool::Executor* ex = pool_.Find(executor_id);
  if (cache_ != nullptr && ex != nullptr) {
    for (const proto::BlockUpdate& update : status.block_updates()) {
      cache_->Update(executor_id, update);
    }
  }
  if (options_.events != nullptr && ex != nullptr) {
    for (const proto::BlockUpdate& update : status.block_updates()) {
      Post(BlockUpdated{.executor_id = executor_id,
                        .dataset = update.dataset(),
                        .partition = update.partition(),
                        .stored = update.stored(),
                        .disk = update.disk(),
                        .bytes = update.bytes(),
                        .time_ms = EpochMillis()});
    }
  }
  auto it = running_.find(status.task_id());
  if (it == running_.end()) return;  // from an executor already removed
  Running run = std::move(it->second);
  running_.erase(it);
  if (options_.events != nullptr) {
    const TaskState state = status.state() == proto::TASK_FINISHED       ? TaskState::kSuccess
                            : status.state() == proto::TASK_FETCH_FAILED ? TaskState::kFetchFailed
                            : status.state() == proto::TASK_KILLED       ? TaskState::kKilled
                                                                         : TaskState::kFailed;
    PostTaskEnd(run, state, status.error(), runtime::MetricsFromProto(status.metrics()));
  }
  ExecutorPool::Executor* ran_on = pool_.Find(run.executor_id);
  if (ran_on != nullptr) ++ran_on->free_cores;
  if (set_ == nullptr || run.generation != generation_) return;  // of an earlier set
  const bool had_result = set_->has_result(run.index);
  const int64_t task_id = status.task_id();
  // Its executor's info shared, not copied (see ExecutorHandle::shared_info).
  set_->OnStatus(run.index, std::move(status),
                 ran_on != nullptr
                     ? ran_on->handle->shared_info()
                     : std::make_shared<const ExecutorInfo>(ExecutorInfo{.id = run.executor_id}));
  // The first attempt to finish won: any other (a speculative copy, or the original)
  // stops, so that its core is free and it writes nothing more. Most tasks ran once:
  // no scan of every running attempt for them.
  if (!had_result && set_->has_result(run.index) && !set_->running_on(run.index).empty()) {
    KillOtherAttemptsLocked(run.index, task_id, kills);
  }
}

TaskScheduler::Launches TaskScheduler::AssignLocked() {
  Launches launches = AssignTasksLocked();
  PostPendingLocked();
  return launches;
}

TaskScheduler::Launches TaskScheduler::AssignTasksLocked() {
  if (set_ == nullptr || set_->Done() || !set_->waiting() || pool_.size() == 0) return {};
  std::vector<Launch> launches;
  const proto::StagePlan& plan = set_->set().plan;
  absl::flat_hash_map<std::string, size_t> slot;  // executor id -> index in launches
  size_t bytes = 0;
  // The launch time of every attempt this call launches: they go out together.
  const int64_t now_ms = options_.events != nullptr ? EpochMillis() : 0;
  // Round-robin over executors, one task at a time, so that a stage spreads over them.
  size_t idle_rounds = 0;
  while (set_->waiting() && idle_rounds < pool_.size()) {
    ExecutorPool::Executor& ex = pool_.Next();
    const std::string& id = ex.handle->info().id;
    const int index = ex.free_cores <= -set_->LaunchAhead(ex.cores)
                          ? -1
                          : set_->NextTask(id, static_cast<int>(pool_.size()));
    if (index < 0) {
      ++idle_rounds;
      continue;
    }
    idle_rounds = 0;
    --ex.free_cores;
    auto [it, inserted] = slot.try_emplace(id, launches.size());
    if (inserted) launches.push_back(Launch{ex.handle, {}});
    proto::LaunchTasks& message = launches[it->second].message;
    if (ex.known_plans.insert(plan.stage_key()).second) {
      *message.add_plans() = plan;
      bytes += plan.ByteSizeLong();
    }
    const TaskSpec& spec = set_->task(index);
    proto::TaskDescription* task = message.add_tasks();
    task->set_task_id(next_task_id_);
    task->set_stage_key(plan.stage_key());
    task->set_partition(spec.partition);
    task->set_attempt(set_->attempts(index) - 1);
    task->set_split(spec.split);
    bytes += spec.split.size() + 32;
    Running& run = running_[next_task_id_++];  // a new entry: ids are not reused
    run.executor_id = id;
    run.index = index;
    run.generation = generation_;
    if (options_.events != nullptr) {
      TaskAttempt& a = run.attempt;
      a.task_id = task->task_id();
      a.stage_id = plan.stage_id();
      a.index = index;
      a.partition = spec.partition;
      a.attempt = task->attempt();
      a.speculative = set_->running_on(index).size() > 1;
      a.executor_id = id;
      a.host = ex.handle->info().host;
      a.launch_ms = now_ms;
      if (options_.eager_task_starts) {
        NewEvent<TaskStart>().task = a;
        run.start_posted = true;
      }
    }
    if (bytes > options_.max_launch_bytes) slot.erase(id);  // start a new message
  }
  if (launches.empty()) return {};
  return Launches{.ticket = ++tickets_, .items = std::move(launches)};
}

void TaskScheduler::SendLaunches(Launches launches) {
  if (launches.empty()) return;
  std::vector<std::string> gone;
  {
    absl::MutexLock lock(&send_mu_);
    struct Turn {
      const uint64_t* sent;
      uint64_t ticket;
      bool Ready() const { return *sent + 1 == ticket; }
    };
    const Turn turn{&sent_, launches.ticket};
    send_mu_.Await(absl::Condition(&turn, &Turn::Ready));
    for (Launch& launch : launches.items) {
      if (!launch.handle->Launch(launch.message)) gone.push_back(launch.handle->info().id);
    }
    sent_ = launches.ticket;
  }
  for (const std::string& id : gone) RemoveExecutor(id, "its connection is gone");
}

void TaskScheduler::PostTaskEnd(Running& run, TaskState state, std::string error,
                                const runtime::TaskMetrics& metrics) {
  if (options_.events == nullptr) return;
  TaskEnd& end = NewEvent<TaskEnd>();
  end.task = std::move(run.attempt);
  end.started = run.start_posted;
  end.state = state;
  end.error = std::move(error);
  end.finish_ms = EpochMillis();
  end.metrics = metrics;
}

void TaskScheduler::PostRunningStarts() {
  absl::MutexLock lock(&mu_);
  if (options_.events == nullptr) return;
  for (auto& [id, run] : running_) {
    if (run.start_posted) continue;
    NewEvent<TaskStart>().task = run.attempt;
    run.start_posted = true;
  }
  PostPendingLocked();
}

bool TaskScheduler::SetDoneLocked() const {
  return !stopped_.empty() || set_ == nullptr || set_->Done();
}

TaskSetOutcome TaskScheduler::RunTaskSet(TaskSet set) {
  Launches launches;
  {
    absl::MutexLock lock(&mu_);
    ++generation_;
    lost_.clear();  // their tasks belonged to the set before
    set_ = std::make_unique<TaskSetManager>(
        std::move(set),
        TaskSetOptions{.max_failures = options_.max_failures,
                       .launch_ahead = options_.launch_ahead,
                       .short_task = options_.short_task,
                       .locality_wait = options_.locality_wait,
                       .max_result_bytes = options_.max_result_bytes,
                       .speculation = options_.speculation,
                       .speculation_multiplier = options_.speculation_multiplier,
                       .speculation_quantile = options_.speculation_quantile,
                       .speculation_min_runtime = options_.speculation_min_runtime,
                       .clock = options_.clock},
        [this](const std::string& id) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return pool_.Contains(id);  // called by the manager, under mu_
        });
    launches = AssignLocked();
  }
  SendLaunches(std::move(launches));

  absl::MutexLock lock(&mu_);
  // Wakes when the set is done, and when a task starts to wait for its preferred
  // executors (a retry, or a task of a lost executor): then the locality wait needs a
  // timer again.
  const absl::Condition wake(
      +[](TaskScheduler* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
        return self->SetDoneLocked() || self->set_->locality_armed();
      },
      this);
  while (!SetDoneLocked()) {
    std::chrono::nanoseconds left{};
    set_->ClearLocalityArmed();
    const bool delaying = set_->Delaying(&left);
    if (!delaying && !options_.speculation) {
      mu_.Await(wake);
      continue;
    }
    // Tasks wait for their preferred executors: when the wait runs out, any executor
    // may take them. With speculation, slow tasks are looked for every interval.
    if (options_.speculation && (!delaying || left > options_.speculation_interval)) {
      left = options_.speculation_interval;
    }
    mu_.AwaitWithTimeout(wake, absl::FromChrono(left));
    if (SetDoneLocked()) break;
    set_->CheckSpeculation();
    launches = AssignLocked();
    if (launches.empty()) continue;
    mu_.Unlock();
    SendLaunches(std::move(launches));
    mu_.Lock();
  }
  if (set_ != nullptr) speculative_launches_ += set_->speculative_launches();
  TaskSetOutcome outcome;
  if (!stopped_.empty()) {
    outcome.status = absl::CancelledError(stopped_);
  } else {
    outcome = set_->TakeOutcome();
  }
  set_.reset();
  return outcome;
}

int TaskScheduler::TotalCores() const {
  absl::MutexLock lock(&mu_);
  return pool_.TotalCores();
}

int TaskScheduler::ExecutorCount() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(pool_.size());
}

int TaskScheduler::PendingTasks() const {
  absl::MutexLock lock(&mu_);
  return set_ != nullptr && !set_->Done() ? set_->waiting_count() : 0;
}

std::vector<TaskScheduler::ExecutorUse> TaskScheduler::Usage() const {
  absl::MutexLock lock(&mu_);
  absl::flat_hash_map<std::string, int> running;
  for (const auto& [task_id, run] : running_) ++running[run.executor_id];
  std::vector<ExecutorUse> out;
  for (const auto& handle : pool_.Handles()) {
    const ExecutorInfo& info = handle->info();
    auto it = running.find(info.id);
    out.push_back({.id = info.id,
                   .cores = info.cores,
                   .running_tasks = it == running.end() ? 0 : it->second});
  }
  return out;
}

bool TaskScheduler::Decommission(const std::string& executor_id) {
  absl::MutexLock lock(&mu_);
  if (!pool_.Contains(executor_id)) return false;
  for (const auto& [task_id, run] : running_) {
    if (run.executor_id == executor_id) return false;
  }
  pool_.Remove(executor_id);
  if (cache_ != nullptr) cache_->RemoveExecutor(executor_id);
  if (set_ != nullptr) set_->ExecutorLost(executor_id);
  spdlog::info("executor={} decommissioned (dynamic allocation)", executor_id);
  Post(ExecutorRemoved{.executor_id = executor_id,
                       .reason = "idle: given back (dynamic allocation)",
                       .time_ms = EpochMillis()});
  PostPendingLocked();
  return true;
}

bool TaskScheduler::WaitForCores(int cores, std::chrono::milliseconds timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !stopped_.empty() || pool_.TotalCores() >= cores;
  };
  mu_.AwaitWithTimeout(absl::Condition(&enough), absl::FromChrono(timeout));
  return stopped_.empty() && enough();
}

void TaskScheduler::ForEachExecutor(const std::function<void(ExecutorHandle&)>& fn) {
  std::vector<std::shared_ptr<ExecutorHandle>> handles;
  {
    absl::MutexLock lock(&mu_);
    handles = pool_.Handles();
  }
  // An executor that is gone is removed when its stream closes; nothing to do here.
  for (auto& handle : handles) fn(*handle);
}

void TaskScheduler::RemoveDataset(int dataset) {
  ForEachExecutor([dataset](ExecutorHandle& e) { e.RemoveDataset(dataset); });
}

void TaskScheduler::RemoveBroadcast(int64_t id) {
  ForEachExecutor([id](ExecutorHandle& e) { e.RemoveBroadcast(id); });
}

void TaskScheduler::Stop(const std::string& reason) {
  absl::MutexLock lock(&mu_);
  if (stopped_.empty()) stopped_ = reason.empty() ? "stopped" : reason;
}

std::string TaskScheduler::StopReason() const {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

std::string TaskScheduler::LastUnregisteredFailure() const {
  absl::MutexLock lock(&mu_);
  return last_unregistered_failure_;
}

int TaskScheduler::SpeculativeLaunches() const {
  absl::MutexLock lock(&mu_);
  return speculative_launches_ + (set_ != nullptr ? set_->speculative_launches() : 0);
}

StageProgress TaskScheduler::Progress() const {
  absl::MutexLock lock(&mu_);
  StageProgress p;
  if (set_ == nullptr) return p;
  p.active = true;
  p.stage_id = set_->set().plan.stage_id();
  p.total = static_cast<int>(set_->set().tasks.size());
  p.done = set_->finished();
  for (const auto& [id, run] : running_) p.running += run.generation == generation_ ? 1 : 0;
  return p;
}

}  // namespace kiln::internal
