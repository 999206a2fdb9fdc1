#include "driver/app_status.h"

#include <algorithm>
#include <set>

namespace kiln::internal {

const TaskPlace TaskRow::kNoPlace;

const TaskRow* StageRow::FindTask(int64_t task_id) const {
  auto it = std::find_if(tasks.rbegin(), tasks.rend(),
                         [&](const TaskRow& row) { return row.task_id == task_id; });
  return it != tasks.rend() ? &*it : nullptr;
}

std::vector<const TaskRow*> StageRow::TasksById() const {
  std::vector<const TaskRow*> out;
  out.reserve(tasks.size());
  for (const TaskRow& t : tasks) out.push_back(&t);
  std::sort(out.begin(), out.end(),
            [](const TaskRow* a, const TaskRow* b) { return a->task_id < b->task_id; });
  return out;
}

int AppState::ActiveCores() const {
  int cores = 0;
  for (const auto& [id, e] : executors) cores += e.active ? e.info.cores : 0;
  return cores;
}

namespace {

template <class Keep>
AppState::BlockUse SumBlocks(const AppState& s, Keep keep) {
  AppState::BlockUse use;
  std::set<int> partitions;
  for (const auto& [key, b] : s.blocks) {
    if (!keep(b)) continue;
    ++use.blocks;
    partitions.insert(b.partition);
    (b.disk ? use.disk_bytes : use.memory_bytes) += b.bytes;
  }
  use.partitions = static_cast<int>(partitions.size());
  return use;
}

}  // namespace

AppState::BlockUse AppState::DatasetBlocks(int dataset) const {
  return SumBlocks(*this, [&](const BlockRow& b) { return b.dataset == dataset; });
}

AppState::BlockUse AppState::ExecutorBlocks(const std::string& executor_id) const {
  return SumBlocks(*this, [&](const BlockRow& b) { return b.executor_id == executor_id; });
}

void AppStatusStore::OnEvent(const Event& event) {
  absl::MutexLock lock(&mu_);
  ApplyLocked(event);
}

void AppStatusStore::OnEvents(std::span<const Event> events) {
  absl::MutexLock lock(&mu_);
  for (const Event& e : events) ApplyLocked(e);
}

void AppStatusStore::ApplyLocked(const Event& event) {
  AppState& s = state_;
  if (const auto* e = std::get_if<ApplicationStart>(&event)) {
    s.app = *e;
  } else if (const auto* e = std::get_if<ApplicationEnd>(&event)) {
    s.end = *e;
  } else if (const auto* e = std::get_if<JobStart>(&event)) {
    s.jobs[e->job_id].info = *e;
  } else if (const auto* e = std::get_if<JobEnd>(&event)) {
    JobRow& job = s.jobs[e->job_id];
    job.status = e->succeeded ? "SUCCEEDED" : "FAILED";
    job.error = e->error;
    job.end_ms = e->time_ms;
    TrimLocked();
  } else if (const auto* e = std::get_if<StageSubmitted>(&event)) {
    StageRow& stage = s.stages[{e->stage_id, e->attempt}];
    stage.info = *e;
    // Its tasks' rows, launched in order: room for them once, not a move per growth.
    int64_t room = std::max(e->num_tasks, 0);
    if (limits_.retained_tasks > 0) room = std::min<int64_t>(room, limits_.retained_tasks + 1LL);
    stage.tasks.reserve(static_cast<size_t>(room));
    auto job = s.jobs.find(e->job_id);
    if (job != s.jobs.end()) job->second.stages.emplace_back(e->stage_id, e->attempt);
  } else if (const auto* e = std::get_if<StageCompleted>(&event)) {
    auto it = s.stages.find({e->stage_id, e->attempt});
    if (it == s.stages.end()) return;
    it->second.status = e->failure.empty() ? "COMPLETE" : "FAILED";
    it->second.failure = e->failure;
    it->second.completed_ms = e->time_ms;
    it->second.accumulables = e->accumulables;
  } else if (const auto* e = std::get_if<TaskStart>(&event)) {
    TaskStartedLocked(*e);
  } else if (const auto* e = std::get_if<TaskEnd>(&event)) {
    TaskEndedLocked(*e);
  } else if (const auto* e = std::get_if<ExecutorAdded>(&event)) {
    ExecutorRow& ex = s.executors[e->executor_id];
    ex = ExecutorRow{};
    ex.info = *e;
    executor_rows_[e->executor_id] = &ex;
  } else if (const auto* e = std::get_if<ExecutorRemoved>(&event)) {
    auto it = s.executors.find(e->executor_id);
    if (it == s.executors.end()) return;
    // A failure reported after the removal (its worker's word) still marks it failed.
    if (it->second.active) it->second.removed_ms = e->time_ms;
    it->second.active = false;
    if (e->failed || it->second.removed_reason.empty()) it->second.removed_reason = e->reason;
    it->second.failed = it->second.failed || e->failed;
    for (auto b = s.blocks.begin(); b != s.blocks.end();) {
      b = b->second.executor_id == e->executor_id ? s.blocks.erase(b) : std::next(b);
    }
  } else if (const auto* e = std::get_if<DatasetPersisted>(&event)) {
    s.datasets[e->dataset] = DatasetRow{
        .name = e->name, .num_partitions = e->num_partitions, .storage_level = e->storage_level};
  } else if (const auto* e = std::get_if<DatasetUnpersisted>(&event)) {
    s.datasets.erase(e->dataset);
    for (auto b = s.blocks.begin(); b != s.blocks.end();) {
      b = b->second.dataset == e->dataset ? s.blocks.erase(b) : std::next(b);
    }
  } else if (const auto* e = std::get_if<BlockUpdated>(&event)) {
    const auto key = std::make_tuple(e->dataset, e->partition, e->executor_id);
    if (e->stored) {
      s.blocks[key] = BlockRow{.dataset = e->dataset,
                               .partition = e->partition,
                               .executor_id = e->executor_id,
                               .bytes = e->bytes,
                               .disk = e->disk};
    } else {
      s.blocks.erase(key);
    }
  }
}

namespace {

// The attempt's figures, as its start (or, when its start was not posted, its end) gave.
void SetAttempt(const TaskAttempt& task, const TaskPlace* place, TaskRow* row) {
  row->task_id = task.task_id;
  row->launch_ms = task.launch_ms;
  row->index = task.index;
  row->partition = task.partition;
  row->attempt = task.attempt;
  row->speculative = task.speculative;
  row->place = place;
}

}  // namespace

void AppStatusStore::TaskStartedLocked(const TaskStart& e) {
  AppState& s = state_;
  ++s.tasks_running;
  if (ExecutorRow* ex = FindExecutorLocked(e.task.executor_id)) ++ex->active_tasks;
  StageRow* stage = FindStageLocked(e.task.stage_id, e.task.stage_attempt);
  if (stage == nullptr) return;
  StageRow& st = *stage;
  ++st.active_tasks;
  auto [at, added] = st.running_rows.try_emplace(e.task.task_id, st.tasks.size());
  // Started twice (a replayed log): the later start stands.
  SetAttempt(e.task, PlaceLocked(e.task), added ? &st.tasks.emplace_back() : &st.tasks[at->second]);
  if (added) TrimTasks(st);
}

void AppStatusStore::TaskEndedLocked(const TaskEnd& e) {
  AppState& s = state_;
  const bool ok = e.state == TaskState::kSuccess;
  const bool killed = e.state == TaskState::kKilled;
  if (e.started) s.tasks_running = std::max<int64_t>(0, s.tasks_running - 1);
  ++(ok ? s.tasks_succeeded : killed ? s.tasks_killed : s.tasks_failed);
  if (ok) runtime::AddTaskMetrics(e.metrics, &s.totals);
  if (StageRow* stage = FindStageLocked(e.task.stage_id, e.task.stage_attempt)) {
    StageRow& st = *stage;
    // Its start was seen: the row is the one the start recorded, with its attempt. Else
    // the attempt is the end's.
    TaskRow* row = nullptr;
    if (auto it = st.running_rows.find(e.task.task_id); it != st.running_rows.end()) {
      row = &st.tasks[it->second];
      st.running_rows.erase(it);
      --st.active_tasks;
    } else {
      row = &st.tasks.emplace_back();
      SetAttempt(e.task, PlaceLocked(e.task), row);
    }
    row->state = e.state;
    if (!e.error.empty() || !row->error.empty()) row->error = e.error;
    row->finish_ms = e.finish_ms;
    row->packed_metrics = runtime::PackedTaskMetrics(e.metrics);
    row->read_bytes = e.metrics.shuffle_bytes_read + e.metrics.input_bytes;
    ++(ok ? st.succeeded_tasks : killed ? st.killed_tasks : st.failed_tasks);
    if (ok) runtime::AddTaskMetrics(e.metrics, &st.totals);
    TrimTasks(st);
  }
  if (ExecutorRow* ex = FindExecutorLocked(e.task.executor_id)) {
    ExecutorRow& row = *ex;
    if (e.started) row.active_tasks = std::max(0, row.active_tasks - 1);
    row.task_time_ms += std::max<int64_t>(0, e.finish_ms - e.task.launch_ms);
    if (ok) {
      ++row.succeeded_tasks;
      runtime::AddTaskMetrics(e.metrics, &row.totals);
    } else if (!killed) {
      ++row.failed_tasks;
    }
  }
}

const TaskPlace* AppStatusStore::PlaceLocked(const TaskAttempt& task) {
  if (last_place_->executor_id == task.executor_id && last_place_->host == task.host) {
    return last_place_;
  }
  const TaskPlace*& place = place_by_executor_[task.executor_id];
  if (place == nullptr || place->host != task.host) {
    place = &*places_.insert(TaskPlace{.executor_id = task.executor_id, .host = task.host}).first;
  }
  last_place_ = place;
  return place;
}

StageRow* AppStatusStore::FindStageLocked(int stage_id, int attempt) {
  const std::pair<int, int> key(stage_id, attempt);
  if (last_stage_ != nullptr && last_stage_key_ == key) return last_stage_;
  auto it = state_.stages.find(key);
  if (it == state_.stages.end()) return nullptr;
  last_stage_key_ = key;
  last_stage_ = &it->second;
  return last_stage_;
}

ExecutorRow* AppStatusStore::FindExecutorLocked(const std::string& id) {
  if (last_executor_ != nullptr && last_executor_->info.executor_id == id) return last_executor_;
  auto it = executor_rows_.find(id);
  if (it == executor_rows_.end()) return nullptr;
  last_executor_ = it->second;
  return it->second;
}

void AppStatusStore::TrimTasks(StageRow& st) const {
  const auto limit = static_cast<size_t>(limits_.retained_tasks);
  if (limits_.retained_tasks <= 0 || st.tasks.size() <= limit) return;
  // Spark's AppStatusListener: a tenth of the limit at a time, so that trimming a long
  // stage costs a pass over its rows every limit/10 tasks, not one per task. The rows
  // the store learned of first go first; running ones stay.
  size_t drop = std::max(st.tasks.size() - limit, limit / 10);
  std::erase_if(st.tasks, [&](const TaskRow& row) {
    if (drop == 0 || !row.finished()) return false;
    --drop;
    return true;
  });
  for (size_t i = 0; i < st.tasks.size(); ++i) {
    if (!st.tasks[i].finished()) st.running_rows[st.tasks[i].task_id] = i;
  }
}

void AppStatusStore::TrimLocked() {
  AppState& s = state_;
  auto finished_jobs = static_cast<int>(std::count_if(
      s.jobs.begin(), s.jobs.end(), [](const auto& j) { return j.second.status != "RUNNING"; }));
  for (auto it = s.jobs.begin(); it != s.jobs.end() && finished_jobs > limits_.retained_jobs;) {
    if (it->second.status == "RUNNING") {
      ++it;
      continue;
    }
    it = s.jobs.erase(it);
    --finished_jobs;
  }
  auto finished_stages =
      static_cast<int>(std::count_if(s.stages.begin(), s.stages.end(),
                                     [](const auto& st) { return st.second.status != "ACTIVE"; }));
  for (auto it = s.stages.begin();
       it != s.stages.end() && finished_stages > limits_.retained_stages;) {
    if (it->second.status == "ACTIVE") {
      ++it;
      continue;
    }
    last_stage_ = nullptr;
    it = s.stages.erase(it);
    --finished_stages;
  }
}

}  // namespace kiln::internal
