#include "driver/doctor.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/master_url.h"
#include "common/strings.h"
#include "common/units.h"

namespace kiln::internal {
namespace {

// Reorders `v`. The doctor runs at the end of every job, on every task of it: no copies.
int64_t Median(std::vector<int64_t>& v) {
  if (v.empty()) return 0;
  auto mid = v.begin() + static_cast<std::ptrdiff_t>((v.size() - 1) / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

// What a task read: its shuffle blocks and its input.
int64_t ReadBytes(const TaskRow& t) { return t.read_bytes; }

std::string StageName(const StageRow& s) {
  return StrCat("stage ", s.info.stage_id, " (", s.info.name, ")");
}

// A stage's succeeded attempts, and what most checks need of them, in one pass over its
// rows (each further pass over 100,000 rows costs milliseconds).
struct Succeeded {
  std::vector<const TaskRow*> rows;
  std::vector<int64_t> durations;  // of `rows`, in their order until a median reorders it
  int64_t total_ms = 0;
  int64_t max_ms = 0;
  int64_t max_read = 0;
  size_t size() const { return rows.size(); }
};

Succeeded SucceededTasks(const StageRow& stage) {
  Succeeded out;
  out.rows.reserve(stage.tasks.size());
  out.durations.reserve(stage.tasks.size());
  for (const TaskRow& t : stage.tasks) {
    if (t.state != TaskState::kSuccess) continue;
    const int64_t ms = t.duration_ms();
    out.rows.push_back(&t);
    out.durations.push_back(ms);
    out.total_ms += ms;
    out.max_ms = std::max(out.max_ms, ms);
    out.max_read = std::max(out.max_read, ReadBytes(t));
  }
  return out;
}

void CheckSkew(const StageRow& stage, const Succeeded& done, const DoctorOptions& o,
               std::vector<Finding>* out) {
  // No partition is large enough to matter (the common case).
  if (done.size() < 2 || done.max_read <= o.skew_min_bytes) return;
  const std::vector<const TaskRow*>& tasks = done.rows;
  const TaskRow* largest = *std::max_element(
      tasks.begin(), tasks.end(),
      [](const TaskRow* a, const TaskRow* b) { return ReadBytes(*a) < ReadBytes(*b); });
  const int64_t max = ReadBytes(*largest);
  if (max <= o.skew_min_bytes) return;  // no partition is large enough to matter
  std::vector<int64_t> sizes;
  sizes.reserve(tasks.size());
  for (const TaskRow* t : tasks) sizes.push_back(ReadBytes(*t));
  const int64_t median = Median(sizes);
  if (static_cast<double>(max) <= o.skew_factor * static_cast<double>(median)) {
    return;
  }
  int skewed = 0;
  for (int64_t size : sizes) {
    skewed += size > o.skew_min_bytes &&
              static_cast<double>(size) > o.skew_factor * static_cast<double>(median);
  }
  const int n = stage.info.num_partitions;
  const int p = largest->partition;
  Finding f{.kind = "skew", .stage_id = stage.info.stage_id};
  f.title = StrCat(
      StageName(stage), ": partition ", p, " read ", FormatBytes(max),
      median > 0 ? StrCat(", ", std::lround(static_cast<double>(max) / static_cast<double>(median)),
                          "x the median task's ", FormatBytes(median))
                 : StrCat(" while the median task read nothing"));
  f.evidence.push_back(StrCat(skewed, " of ", tasks.size(), " task(s) over ", o.skew_factor,
                              "x the median and over ", FormatBytes(o.skew_min_bytes),
                              "; the largest read ", largest->metrics().records_read,
                              " records and ran ", FormatMillis(largest->duration_ms())));
  const std::string& how = stage.info.read_partitioning;
  if (how == "hash") {
    f.evidence.push_back(StrCat("partition ", p, " holds the keys with hash(key) % ", n, " == ", p,
                                ": one key, or a few, hold most of the records"));
    f.fix = StrCat(
        "salt the hot key (map it to (key, i) for i in 0..k-1, reduce, then reduce again by key), "
        "raise the partitions above ",
        n,
        " if several keys share the partition, and combine on the map side (reduce_by_key or "
        "aggregate rather than group_by_key)");
  } else if (how == "range") {
    f.evidence.push_back(StrCat("partition ", p, " holds range ", p, " of ", n,
                                " of the sorted keys: one key, or a narrow range, holds most of "
                                "the records"));
    f.fix =
        "sort by a finer key (add a tie-breaker to the hot key) so its records can be split "
        "between partitions";
  } else {
    f.evidence.push_back(StrCat("the input split of partition ", p, " is larger than the others"));
    f.fix =
        "split the input more evenly: repartition() after reading deals the records evenly "
        "(a shuffle), or store the input as more, evenly sized files";
  }
  out->push_back(std::move(f));
}

void CheckSpill(const StageRow& stage, const Succeeded& done, const DoctorOptions& o,
                std::vector<Finding>* out) {
  const std::vector<const TaskRow*>& tasks = done.rows;
  const runtime::TaskMetrics& total = stage.totals;
  if (total.disk_bytes_spilled <= 0 && total.memory_bytes_spilled <= 0) return;
  int spilling = 0;
  int64_t need = 0, had = 0;
  for (const TaskRow* t : tasks) {
    const runtime::TaskMetrics m = t->metrics();
    if (m.spill_count <= 0) continue;
    ++spilling;
    const int64_t want = m.peak_execution_memory + m.memory_bytes_spilled;
    if (want > need) {
      need = want;
      had = m.peak_execution_memory;
    }
  }
  const int factor =
      static_cast<int>(std::clamp<int64_t>(had > 0 ? (need + had - 1) / had : 2, 2, 64));
  const int n = stage.info.num_partitions;
  Finding f{.kind = "spill", .stage_id = stage.info.stage_id};
  f.title = StrCat(StageName(stage), " spilled ", FormatBytes(total.memory_bytes_spilled),
                   " from memory (", FormatBytes(total.disk_bytes_spilled), " on disk)");
  f.evidence.push_back(StrCat(spilling, " of ", tasks.size(), " task(s) spilled, ",
                              total.spill_count, " spill file(s); the largest needed about ",
                              FormatBytes(need), " of execution memory and had ",
                              FormatBytes(had)));
  f.fix = StrCat("give each task about ", factor, "x the execution memory: raise ",
                 o.memory_setting, " from ", FormatMib(o.memory_mb), " to ",
                 FormatMib(o.memory_mb * factor), ", or raise this stage's partitions from ", n,
                 " to ", n * factor, " so that each task holds 1/", factor, " as much");
  out->push_back(std::move(f));
}

void CheckPartitions(const StageRow& stage, Succeeded& done, int cores, const DoctorOptions& o,
                     std::vector<Finding>* out) {
  if (done.size() == 0) return;
  const int t = static_cast<int>(done.size());
  cores = std::max(cores, 1);
  std::vector<int64_t>& durations = done.durations;
  const int64_t total_ms = done.total_ms;
  const int64_t median = Median(durations);
  if (median < o.tiny_task_ms && t > 4 * cores) {
    // Tasks of about 200 ms, and at least 2 per core (the notes' 2-3 tasks per core).
    const int want = static_cast<int>(std::max<int64_t>(2LL * cores, (total_ms + 199) / 200));
    if (want * 2 <= t) {
      Finding f{.kind = "partitions", .stage_id = stage.info.stage_id};
      f.title = StrCat(StageName(stage), ": ", t, " tiny tasks (median ", FormatMillis(median),
                       "): scheduling them costs more than their work");
      f.evidence.push_back(StrCat(t, " tasks ran ", FormatMillis(total_ms), " in all on ", cores,
                                  " core(s); tasks under ", FormatMillis(o.tiny_task_ms),
                                  " are mostly overhead"));
      f.fix = StrCat("use about ", want, " partitions: coalesce(", want,
                     ") merges partitions without a shuffle (narrow), or create the data with ",
                     want, " partitions (for a shuffle, its partitions argument); repartition(",
                     want, ") also balances them but shuffles every record");
      out->push_back(std::move(f));
    }
    return;
  }
  const int64_t stage_ms = stage.completed_ms - stage.info.time_ms;
  if (t < cores && stage.info.num_partitions < cores && stage_ms >= o.few_tasks_min_stage_ms) {
    Finding f{.kind = "partitions", .stage_id = stage.info.stage_id};
    f.title = StrCat(StageName(stage), ": ", t, " task(s) for ", cores, " cores: ", cores - t,
                     " core(s) sat idle for ", FormatMillis(stage_ms));
    f.evidence.push_back(StrCat("the stage's dataset has ", stage.info.num_partitions,
                                " partition(s); the longest task ran ", FormatMillis(done.max_ms)));
    f.fix = StrCat("use at least ", 2 * cores, " partitions (2-3 per core): repartition(",
                   2 * cores, ") before the heavy step (a shuffle), or pass ", 2 * cores,
                   " to the shuffle that makes this data; coalesce cannot raise partitions");
    out->push_back(std::move(f));
  }
}

void CheckStragglers(const StageRow& stage, const Succeeded& done, const DoctorOptions& o,
                     std::vector<Finding>* out) {
  // A straggler runs at least straggler_min_excess_ms longer than a median, so at least
  // that long: with no task as long, there is none (the common case of short tasks).
  if (done.size() < 4 || done.max_ms < o.straggler_min_excess_ms) return;
  const std::vector<const TaskRow*>& tasks = done.rows;
  if (std::all_of(tasks.begin(), tasks.end(), [&](const TaskRow* t) {
        return t->executor_id() == tasks.front()->executor_id();
      })) {
    return;  // one executor: none to compare it with
  }
  std::map<std::string_view, std::vector<const TaskRow*>> by_executor;
  for (const TaskRow* t : tasks) by_executor[t->executor_id()].push_back(t);
  std::vector<int64_t> inputs;
  inputs.reserve(tasks.size());
  for (const TaskRow* t : tasks) inputs.push_back(ReadBytes(*t));
  const int64_t median_input = Median(inputs);
  for (const auto& [executor, mine] : by_executor) {
    std::vector<int64_t> others;
    others.reserve(tasks.size());
    for (const TaskRow* t : tasks) {
      if (t->executor_id() != executor) others.push_back(t->duration_ms());
    }
    const int64_t ref = Median(others);
    int slow = 0;
    int64_t slowest = 0;
    for (const TaskRow* t : mine) {
      const int64_t d = t->duration_ms();
      const bool more_input = ReadBytes(*t) > 2 * median_input && ReadBytes(*t) > (1 << 20);
      if (static_cast<double>(d) > o.straggler_factor * static_cast<double>(ref) &&
          d - ref >= o.straggler_min_excess_ms && !more_input) {
        ++slow;
        slowest = std::max(slowest, d);
      }
    }
    // Its tasks, not one unlucky one: at least half of them, or two.
    if (slow == 0 || (slow * 2 < static_cast<int>(mine.size()) && slow < 2)) continue;
    Finding f{.kind = "straggler", .stage_id = stage.info.stage_id};
    f.title = StrCat(StageName(stage), ": executor ", executor, " on host ", mine.front()->host(),
                     " is slow: ", slow, " of its ", mine.size(), " task(s) ran over ",
                     o.straggler_factor, "x the other executors' median");
    f.evidence.push_back(StrCat("its slowest task ran ", FormatMillis(slowest),
                                "; the median elsewhere was ", FormatMillis(ref),
                                ", on no less input"));
    f.fix = StrCat("look at host ", mine.front()->host(),
                   " (disk, CPU steal, other load); turn on kiln.speculation to run copies of "
                   "slow tasks elsewhere, or take the worker out of the cluster");
    out->push_back(std::move(f));
  }
}

bool MentionsMemory(const std::string& text) {
  return text.find("memory limit") != std::string::npos ||
         text.find("out of memory") != std::string::npos ||
         text.find("std::bad_alloc") != std::string::npos;
}

void CheckFailures(const AppState& app, const JobRow& job, std::vector<Finding>* out) {
  int failed = 0;
  std::vector<std::string> errors;
  for (const auto& key : job.stages) {
    auto it = app.stages.find(key);
    if (it == app.stages.end()) continue;
    for (const TaskRow& t : it->second.tasks) {
      if (!t.finished() || t.state == TaskState::kSuccess || t.state == TaskState::kKilled)
        continue;
      ++failed;
      if (errors.size() < 3) {
        errors.push_back(StrCat("task ", t.partition, " of ", StageName(it->second), " attempt ",
                                t.attempt, " on executor ", t.executor_id(), ": ",
                                TaskStateName(t.state), ": ", t.error));
      }
    }
  }
  const int64_t end = job.end_ms > 0 ? job.end_ms : INT64_MAX;
  std::vector<const ExecutorRow*> lost;
  for (const auto& [id, e] : app.executors) {
    if (e.failed && e.removed_ms >= job.info.time_ms && e.removed_ms <= end) lost.push_back(&e);
  }
  const bool driver_memory = job.error.find("kiln.driver.maxResultSize") != std::string::npos ||
                             job.error.find("kiln.driver.memory") != std::string::npos;
  if (failed == 0 && lost.empty() && !driver_memory) return;
  Finding f{.kind = "failures"};
  bool executor_memory = false;
  for (const ExecutorRow* e : lost) {
    executor_memory = executor_memory || MentionsMemory(e->removed_reason);
    f.evidence.push_back(StrCat("executor ", e->info.executor_id, " on host ", e->info.host,
                                " was lost: ", e->removed_reason));
  }
  for (std::string& e : errors) {
    executor_memory = executor_memory || MentionsMemory(e);
    f.evidence.push_back(std::move(e));
  }
  f.title = StrCat(failed, " task attempt(s) failed",
                   lost.empty() ? "" : StrCat(", ", lost.size(), " executor(s) lost"),
                   job.status == "FAILED" ? "; the job failed" : "; retried, the job succeeded");
  if (driver_memory) {
    f.evidence.push_back(StrCat("the job failed on the driver: ", job.error));
    f.title += " (driver-side memory)";
    f.fix =
        "the results sent to the driver are too big: write them with save_as_text_file, or "
        "reduce them on the executors (reduce, count, take) instead of collect(); raise "
        "kiln.driver.maxResultSize or --driver-memory only if they must come back";
  } else if (executor_memory) {
    f.title += " (executor-side memory)";
    f.fix =
        "the executors ran out of memory: raise --executor-memory (kiln.executor.memory) or "
        "kiln.executor.memoryOverhead, or use more partitions so that each task holds less";
  } else {
    f.fix =
        "read the errors above and the executors' stderr (linked from the worker's page); "
        "kiln.task.maxFailures bounds the retries of one task";
  }
  out->push_back(std::move(f));
}

}  // namespace

DoctorOptions DoctorOptionsFrom(const Config& conf) {
  DoctorOptions o;
  o.skew_factor = conf.GetDouble("kiln.doctor.skewedPartitionFactor");
  o.skew_min_bytes = conf.GetBytes("kiln.doctor.skewedPartitionThreshold");
  o.tiny_task_ms = conf.GetDuration("kiln.doctor.tinyTaskDuration").count();
  o.straggler_factor = conf.GetDouble("kiln.doctor.stragglerFactor");
  absl::StatusOr<MasterUrl> master = ParseMasterUrl(conf.GetString("kiln.master"));
  if (master.ok() && master->local) o.memory_setting = "kiln.driver.memory";
  o.memory_mb = conf.GetMemoryMb(o.memory_setting);
  return o;
}

DoctorOptions DoctorOptionsFrom(const AppState& app) {
  Config conf;
  if (app.app) {
    for (const auto& s : app.app->settings) {
      if (s.source != "default") conf.Set(s.key, s.value).IgnoreError();
    }
  }
  return DoctorOptionsFrom(conf);
}

std::vector<Finding> DiagnoseJob(const AppState& app, int job_id, const DoctorOptions& options) {
  std::vector<Finding> out;
  auto job = app.jobs.find(job_id);
  if (job == app.jobs.end()) return out;
  const int cores = app.ActiveCores();
  // The last attempt of each stage is the one whose tasks count.
  std::map<int, const StageRow*> stages;
  for (const auto& key : job->second.stages) {
    auto it = app.stages.find(key);
    if (it != app.stages.end() && it->second.status == "COMPLETE") stages[key.first] = &it->second;
  }
  for (const auto& [id, stage] : stages) {
    Succeeded done = SucceededTasks(*stage);
    CheckSkew(*stage, done, options, &out);
    CheckSpill(*stage, done, options, &out);
    CheckPartitions(*stage, done, cores, options, &out);  // reorders done.durations
    CheckStragglers(*stage, done, options, &out);
  }
  CheckFailures(app, job->second, &out);
  return out;
}

std::string FormatFindings(const AppState& app, int job_id, const std::vector<Finding>& findings) {
  if (findings.empty()) return "";
  auto job = app.jobs.find(job_id);
  const std::string action = job != app.jobs.end() ? job->second.info.action : "?";
  std::string out = StrCat("kiln doctor: job ", job_id, " (", action, "): ", findings.size(),
                           " finding", findings.size() == 1 ? "" : "s", "\n");
  for (const Finding& f : findings) {
    StrAppend(&out, "  [", f.kind, "] ", f.title, "\n");
    for (const std::string& e : f.evidence) StrAppend(&out, "      evidence: ", e, "\n");
    StrAppend(&out, "      fix: ", f.fix, "\n");
  }
  return out;
}

}  // namespace kiln::internal
