#include "driver/app_status.h"

#include <algorithm>
#include <set>

#include "runtime/task_metrics_fields.h"

namespace kiln::internal {

void AddTaskMetrics(const proto::TaskMetrics& m, std::initializer_list<proto::TaskMetrics*> sums) {
  for (proto::TaskMetrics* sum : sums) {
#define KILN_ADD_METRIC(name)                                          \
  if (m.name() != 0) {                                                 \
    sum->set_##name(std::string_view(#name) == "peak_execution_memory" \
                        ? std::max(sum->name(), m.name())              \
                        : sum->name() + m.name());                     \
  }
    KILN_TASK_METRICS(KILN_ADD_METRIC)
#undef KILN_ADD_METRIC
  }
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
    auto job = s.jobs.find(e->job_id);
    if (job != s.jobs.end()) job->second.stages.emplace_back(e->stage_id, e->attempt);
  } else if (const auto* e = std::get_if<StageCompleted>(&event)) {
    auto it = s.stages.find({e->stage_id, e->attempt});
    if (it == s.stages.end()) return;
    it->second.status = e->failure.empty() ? "COMPLETE" : "FAILED";
    it->second.failure = e->failure;
    it->second.completed_ms = e->time_ms;
  } else if (const auto* e = std::get_if<TaskStart>(&event)) {
    auto it = s.stages.find({e->task.stage_id, e->task.stage_attempt});
    if (it != s.stages.end()) {
      it->second.tasks[e->task.task_id].task = e->task;
      ++it->second.active_tasks;
    }
    auto ex = s.executors.find(e->task.executor_id);
    if (ex != s.executors.end()) ++ex->second.active_tasks;
    ++s.tasks_running;
  } else if (const auto* e = std::get_if<TaskEnd>(&event)) {
    TaskEndedLocked(*e);
  } else if (const auto* e = std::get_if<ExecutorAdded>(&event)) {
    ExecutorRow& ex = s.executors[e->executor_id];
    ex = ExecutorRow{};
    ex.info = *e;
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

void AppStatusStore::TaskEndedLocked(const TaskEnd& e) {
  AppState& s = state_;
  const bool ok = e.state == kTaskSuccess;
  const bool killed = e.state == kTaskKilled;
  s.tasks_running = std::max<int64_t>(0, s.tasks_running - 1);
  ++(ok ? s.tasks_succeeded : killed ? s.tasks_killed : s.tasks_failed);
  proto::TaskMetrics none;  // where the sums of a missing stage or executor go
  proto::TaskMetrics* stage_totals = &none;
  proto::TaskMetrics* executor_totals = &none;
  auto stage = s.stages.find({e.task.stage_id, e.task.stage_attempt});
  if (stage != s.stages.end()) {
    StageRow& st = stage->second;
    TaskRow& row = st.tasks[e.task.task_id];
    const bool was_running = !row.finished() && row.task.task_id == e.task.task_id;
    row.task = e.task;
    row.state = e.state;
    row.error = e.error;
    row.finish_ms = e.finish_ms;
    row.metrics = e.metrics;
    if (was_running) --st.active_tasks;
    ++(ok ? st.succeeded_tasks : killed ? st.killed_tasks : st.failed_tasks);
    stage_totals = &st.totals;
    if (limits_.retained_tasks > 0 &&
        st.tasks.size() > static_cast<size_t>(limits_.retained_tasks)) {
      for (auto t = st.tasks.begin(); t != st.tasks.end(); ++t) {
        if (t->second.finished()) {
          st.tasks.erase(t);
          break;
        }
      }
    }
  }
  auto ex = s.executors.find(e.task.executor_id);
  if (ex != s.executors.end()) {
    ExecutorRow& row = ex->second;
    row.active_tasks = std::max(0, row.active_tasks - 1);
    row.task_time_ms += std::max<int64_t>(0, e.finish_ms - e.task.launch_ms);
    if (ok) {
      ++row.succeeded_tasks;
    } else if (!killed) {
      ++row.failed_tasks;
    }
    executor_totals = &row.totals;
  }
  if (ok) AddTaskMetrics(e.metrics, {&s.totals, stage_totals, executor_totals});
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
    it = s.stages.erase(it);
    --finished_stages;
  }
}

}  // namespace kiln::internal
