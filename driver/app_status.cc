#include "driver/app_status.h"

#include <algorithm>

#include "google/protobuf/reflection.h"

namespace kiln::internal {

const std::vector<const google::protobuf::FieldDescriptor*>& TaskMetricFields() {
  static const auto* fields = [] {
    auto* out = new std::vector<const google::protobuf::FieldDescriptor*>;
    const google::protobuf::Descriptor* d = proto::TaskMetrics::descriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      if (d->field(i)->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_INT64) {
        out->push_back(d->field(i));
      }
    }
    return out;
  }();
  return *fields;
}

void AddTaskMetrics(const proto::TaskMetrics& m, proto::TaskMetrics* sum) {
  const google::protobuf::Reflection* r = m.GetReflection();
  for (const google::protobuf::FieldDescriptor* f : TaskMetricFields()) {
    const int64_t v = r->GetInt64(m, f);
    if (v == 0) continue;
    const int64_t before = r->GetInt64(*sum, f);
    r->SetInt64(sum, f,
                f->number() == proto::TaskMetrics::kPeakExecutionMemoryFieldNumber
                    ? std::max(before, v)
                    : before + v);
  }
}

int AppState::ActiveCores() const {
  int cores = 0;
  for (const auto& [id, e] : executors) cores += e.active ? e.info.cores : 0;
  return cores;
}

void AppStatusStore::OnEvent(const Event& event) {
  absl::MutexLock lock(&mu_);
  ApplyLocked(event);
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
    if (ok) {
      ++st.succeeded_tasks;
      AddTaskMetrics(e.metrics, &st.totals);
    } else if (e.state == kTaskKilled) {
      ++st.killed_tasks;
    } else {
      ++st.failed_tasks;
    }
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
      AddTaskMetrics(e.metrics, &row.totals);
    } else if (e.state != kTaskKilled) {
      ++row.failed_tasks;
    }
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
    it = s.stages.erase(it);
    --finished_stages;
  }
}

}  // namespace kiln::internal
