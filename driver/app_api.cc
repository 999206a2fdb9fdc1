// The REST API of app_ui.h, in Spark's shapes (org.apache.spark.status.api.v1): the same
// field names, times as "2026-12-04T00:58:25.123GMT", durations in ms (shuffle write
// time in ns, as Spark's). Fields Spark has and Kiln does not measure (JVM GC time,
// deserialization time) are 0.

#include <algorithm>

#include "absl/time/time.h"
#include "common/strings.h"
#include "driver/app_ui.h"
#include "nlohmann/json.hpp"

namespace kiln::internal {
namespace {

using Json = nlohmann::ordered_json;

std::string SparkTime(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SGMT", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

constexpr int64_t kNanosPerMs = 1'000'000;

HttpResponse JsonResponse(const Json& j) {
  return HttpResponse{.body = j.dump(2, ' ', false, Json::error_handler_t::replace)};
}

HttpResponse NotFound(std::string_view what) {
  return TextResponse(404, StrCat("unknown: ", what, "\n"));
}

Json TaskMetricsJson(const runtime::TaskMetrics& m) {
  return Json{
      {"executorDeserializeTime", 0},
      {"executorDeserializeCpuTime", 0},
      {"executorRunTime", m.run_nanos / kNanosPerMs},
      {"executorCpuTime", 0},
      {"resultSize", m.result_bytes},
      {"jvmGcTime", 0},
      {"resultSerializationTime", 0},
      {"memoryBytesSpilled", m.memory_bytes_spilled},
      {"diskBytesSpilled", m.disk_bytes_spilled},
      {"peakExecutionMemory", m.peak_execution_memory},
      {"inputMetrics",
       {{"bytesRead", m.input_bytes}, {"recordsRead", m.records_read - m.shuffle_records_read}}},
      {"outputMetrics", {{"bytesWritten", m.output_bytes}, {"recordsWritten", m.output_records}}},
      {"shuffleReadMetrics",
       {{"remoteBlocksFetched", m.shuffle_remote_blocks},
        {"localBlocksFetched", m.shuffle_local_blocks},
        {"fetchWaitTime", m.fetch_wait_nanos / kNanosPerMs},
        {"remoteBytesRead", m.shuffle_remote_bytes},
        {"remoteBytesReadToDisk", 0},
        {"localBytesRead", m.shuffle_local_bytes},
        {"recordsRead", m.shuffle_records_read}}},
      {"shuffleWriteMetrics",
       {{"bytesWritten", m.shuffle_bytes_written},
        {"writeTime", m.shuffle_write_nanos},
        {"recordsWritten", m.shuffle_records_written}}},
  };
}

Json TaskJson(const TaskRow& t) {
  Json j = {{"taskId", t.task_id},
            {"index", t.index},
            {"attempt", t.attempt},
            {"partitionId", t.partition},
            {"launchTime", SparkTime(t.launch_ms)},
            {"executorId", t.executor_id()},
            {"host", t.host()},
            {"status", TaskStateName(t.state)},
            {"taskLocality", "ANY"},
            {"speculative", t.speculative},
            {"accumulatorUpdates", Json::array()}};
  if (t.finished()) {
    j["duration"] = t.duration_ms();
    const runtime::TaskMetrics m = t.metrics();
    j["schedulerDelay"] = std::max<int64_t>(0, t.duration_ms() - m.run_nanos / kNanosPerMs);
    j["gettingResultTime"] = 0;
    j["taskMetrics"] = TaskMetricsJson(m);
  }
  if (!t.error.empty()) j["errorMessage"] = t.error;
  return j;
}

std::string StageStatus(const StageRow& s) { return s.status; }

Json StageJson(const StageRow& s, bool with_tasks) {
  const runtime::TaskMetrics& m = s.totals;
  int64_t first_launch = 0;
  for (const TaskRow& t : s.tasks) {
    if (first_launch == 0 || t.launch_ms < first_launch) first_launch = t.launch_ms;
  }
  Json j = {{"status", StageStatus(s)},
            {"stageId", s.info.stage_id},
            {"attemptId", s.info.attempt},
            {"numTasks", s.info.num_tasks},
            {"numActiveTasks", s.active_tasks},
            {"numCompleteTasks", s.succeeded_tasks},
            {"numFailedTasks", s.failed_tasks},
            {"numKilledTasks", s.killed_tasks},
            {"numCompletedIndices", s.succeeded_tasks},
            {"submissionTime", SparkTime(s.info.time_ms)}};
  if (first_launch > 0) j["firstTaskLaunchedTime"] = SparkTime(first_launch);
  if (s.completed_ms > 0) j["completionTime"] = SparkTime(s.completed_ms);
  if (!s.failure.empty()) j["failureReason"] = s.failure;
  const Json metrics = TaskMetricsJson(m);
  j["executorRunTime"] = metrics["executorRunTime"];
  j["executorCpuTime"] = 0;
  j["resultSize"] = m.result_bytes;
  j["jvmGcTime"] = 0;
  j["memoryBytesSpilled"] = m.memory_bytes_spilled;
  j["diskBytesSpilled"] = m.disk_bytes_spilled;
  j["peakExecutionMemory"] = m.peak_execution_memory;
  j["inputBytes"] = m.input_bytes;
  j["inputRecords"] = metrics["inputMetrics"]["recordsRead"];
  j["outputBytes"] = m.output_bytes;
  j["outputRecords"] = m.output_records;
  j["shuffleRemoteBlocksFetched"] = m.shuffle_remote_blocks;
  j["shuffleLocalBlocksFetched"] = m.shuffle_local_blocks;
  j["shuffleFetchWaitTime"] = m.fetch_wait_nanos / kNanosPerMs;
  j["shuffleRemoteBytesRead"] = m.shuffle_remote_bytes;
  j["shuffleLocalBytesRead"] = m.shuffle_local_bytes;
  j["shuffleReadBytes"] = m.shuffle_bytes_read;
  j["shuffleReadRecords"] = m.shuffle_records_read;
  j["shuffleWriteBytes"] = m.shuffle_bytes_written;
  j["shuffleWriteTime"] = m.shuffle_write_nanos;
  j["shuffleWriteRecords"] = m.shuffle_records_written;
  j["name"] = s.info.name;
  j["details"] = "";
  j["schedulingPool"] = "default";
  j["rddIds"] = Json::array();
  Json accumulables = Json::array();
  for (const AccumulableInfo& a : s.accumulables) {
    accumulables.push_back(
        {{"id", a.id}, {"name", a.name}, {"update", a.update}, {"value", a.value}});
  }
  j["accumulatorUpdates"] = std::move(accumulables);
  if (with_tasks) {
    Json tasks = Json::object();
    for (const TaskRow& t : s.tasks) tasks[std::to_string(t.task_id)] = TaskJson(t);
    j["tasks"] = std::move(tasks);
  }
  return j;
}

Json JobJson(const AppState& app, const JobRow& job) {
  Json stage_ids = Json::array();
  int tasks = 0, active = 0, done = 0, failed = 0, killed = 0;
  int active_stages = 0, done_stages = 0, failed_stages = 0;
  for (const auto& key : job.stages) {
    stage_ids.push_back(key.first);
    auto it = app.stages.find(key);
    if (it == app.stages.end()) continue;
    const StageRow& s = it->second;
    tasks += s.info.num_tasks;
    active += s.active_tasks;
    done += s.succeeded_tasks;
    failed += s.failed_tasks;
    killed += s.killed_tasks;
    active_stages += s.status == "ACTIVE";
    done_stages += s.status == "COMPLETE";
    failed_stages += s.status == "FAILED";
  }
  Json j = {{"jobId", job.info.job_id},
            {"name", job.info.action},
            {"submissionTime", SparkTime(job.info.time_ms)}};
  if (job.end_ms > 0) j["completionTime"] = SparkTime(job.end_ms);
  j["stageIds"] = std::move(stage_ids);
  j["status"] = job.status;
  j["numTasks"] = tasks;
  j["numActiveTasks"] = active;
  j["numCompletedTasks"] = done;
  j["numSkippedTasks"] = 0;
  j["numFailedTasks"] = failed;
  j["numKilledTasks"] = killed;
  j["numCompletedIndices"] = done;
  j["numActiveStages"] = active_stages;
  j["numCompletedStages"] = done_stages;
  j["numSkippedStages"] = 0;
  j["numFailedStages"] = failed_stages;
  j["killedTasksSummary"] = Json::object();
  if (!job.error.empty()) j["failureReason"] = job.error;
  return j;
}

Json ExecutorJson(const AppState& app, const ExecutorRow& e) {
  const AppState::BlockUse use = app.ExecutorBlocks(e.info.executor_id);
  Json j = {{"id", e.info.executor_id},
            {"hostPort", e.info.host},
            {"isActive", e.active},
            {"rddBlocks", use.blocks},
            {"memoryUsed", use.memory_bytes},
            {"diskUsed", use.disk_bytes},
            {"totalCores", e.info.cores},
            {"maxTasks", e.info.cores},
            {"activeTasks", e.active_tasks},
            {"failedTasks", e.failed_tasks},
            {"completedTasks", e.succeeded_tasks},
            {"totalTasks", e.active_tasks + e.failed_tasks + e.succeeded_tasks},
            {"totalDuration", e.task_time_ms},
            {"totalGCTime", 0},
            {"totalInputBytes", e.totals.input_bytes},
            {"totalShuffleRead", e.totals.shuffle_bytes_read},
            {"totalShuffleWrite", e.totals.shuffle_bytes_written},
            {"isBlacklisted", false},
            {"isExcluded", false},
            {"maxMemory", 0},
            {"addTime", SparkTime(e.info.time_ms)},
            {"executorLogs", e.info.log_url.empty() ? Json::object()
                                                    : Json{{"stdout", e.info.log_url + "/stdout"},
                                                           {"stderr", e.info.log_url + "/stderr"}}},
            {"attributes", {{"workerId", e.info.worker_id}}}};
  if (!e.active) {
    j["removeTime"] = SparkTime(e.removed_ms);
    j["removeReason"] = e.removed_reason;
  }
  return j;
}

Json StorageJson(const AppState& app) {
  Json out = Json::array();
  for (const auto& [id, d] : app.datasets) {
    const AppState::BlockUse use = app.DatasetBlocks(id);
    out.push_back({{"id", id},
                   {"name", d.name},
                   {"numPartitions", d.num_partitions},
                   {"numCachedPartitions", use.partitions},
                   {"storageLevel", d.storage_level},
                   {"memoryUsed", use.memory_bytes},
                   {"diskUsed", use.disk_bytes}});
  }
  return out;
}

Json EnvironmentJson(const AppState& app) {
  Json properties = Json::array();
  if (app.app) {
    for (const auto& s : app.app->settings) properties.push_back({s.key, s.value});
  }
  return {{"runtime", {{"kilnVersion", app.app ? app.app->kiln_version : ""}}},
          {"sparkProperties", std::move(properties)},
          {"hadoopProperties", Json::array()},
          {"systemProperties", Json::array()},
          {"metricsProperties", Json::array()},
          {"classpathEntries", Json::array()},
          {"resourceProfiles", Json::array()}};
}

}  // namespace

HttpResponse TextResponse(int status, std::string body) {
  return HttpResponse{
      .status = status, .content_type = "text/plain; charset=utf-8", .body = std::move(body)};
}

bool SplitApiPath(std::string_view path, std::string* app_id, std::string* rest) {
  constexpr std::string_view kPrefix = "/api/v1/applications/";
  if (!path.starts_with(kPrefix)) return false;
  path.remove_prefix(kPrefix.size());
  const size_t slash = path.find('/');
  *app_id = std::string(path.substr(0, slash));
  *rest = slash == std::string_view::npos ? "" : std::string(path.substr(slash));
  return !app_id->empty();
}

std::string ApplicationsJson(const std::vector<const AppState*>& apps) {
  Json out = Json::array();
  for (const AppState* app : apps) {
    if (!app->app) continue;
    const int64_t start = app->app->time_ms;
    const int64_t end = app->end ? app->end->time_ms : -1;
    Json attempt = {{"startTime", SparkTime(start)},
                    {"endTime", end >= 0 ? SparkTime(end) : "1969-12-31T23:59:59.999GMT"},
                    {"lastUpdated", SparkTime(end >= 0 ? end : start)},
                    {"duration", end >= 0 ? end - start : 0},
                    {"sparkUser", app->app->user},
                    {"completed", app->end.has_value()},
                    {"appSparkVersion", app->app->kiln_version},
                    {"startTimeEpoch", start},
                    {"endTimeEpoch", end},
                    {"lastUpdatedEpoch", end >= 0 ? end : start}};
    out.push_back({{"id", app->app->app_id},
                   {"name", app->app->app_name},
                   {"attempts", Json::array({std::move(attempt)})}});
  }
  return out.dump(2, ' ', false, Json::error_handler_t::replace);
}

HttpResponse RenderAppApi(const AppState& app, std::string_view path) {
  std::vector<std::string_view> parts = Split(path, '/', /*skip_empty=*/true);
  if (parts.empty()) {
    std::vector<const AppState*> one = {&app};
    return HttpResponse{.body = ApplicationsJson(one)};
  }
  const std::string_view what = parts[0];
  if (what == "jobs") {
    if (parts.size() == 1) {
      Json out = Json::array();
      for (auto it = app.jobs.rbegin(); it != app.jobs.rend(); ++it)
        out.push_back(JobJson(app, it->second));
      return JsonResponse(out);
    }
    int id = 0;
    if (parts.size() == 2 && ParseNumber(parts[1], &id) && app.jobs.contains(id)) {
      return JsonResponse(JobJson(app, app.jobs.at(id)));
    }
  } else if (what == "stages") {
    if (parts.size() == 1) {
      Json out = Json::array();
      for (auto it = app.stages.rbegin(); it != app.stages.rend(); ++it) {
        out.push_back(StageJson(it->second, false));
      }
      return JsonResponse(out);
    }
    int id = 0, attempt = 0;
    if (!ParseNumber(parts[1], &id)) return NotFound(path);
    if (parts.size() == 2) {  // every attempt of the stage
      Json out = Json::array();
      for (const auto& [key, s] : app.stages) {
        if (key.first == id) out.push_back(StageJson(s, true));
      }
      if (!out.empty()) return JsonResponse(out);
      return NotFound(path);
    }
    auto stage =
        ParseNumber(parts[2], &attempt) ? app.stages.find({id, attempt}) : app.stages.end();
    if (stage == app.stages.end()) return NotFound(path);
    if (parts.size() == 3) return JsonResponse(StageJson(stage->second, true));
    if (parts.size() == 4 && parts[3] == "taskList") {
      Json out = Json::array();
      for (const TaskRow* t : stage->second.TasksById()) out.push_back(TaskJson(*t));
      return JsonResponse(out);
    }
  } else if ((what == "executors" || what == "allexecutors") && parts.size() == 1) {
    Json out = Json::array();
    for (const auto& [id, e] : app.executors) {
      if (what == "allexecutors" || e.active) out.push_back(ExecutorJson(app, e));
    }
    return JsonResponse(out);
  } else if (what == "storage" && parts.size() == 2 && parts[1] == "rdd") {
    return JsonResponse(StorageJson(app));
  } else if (what == "environment" && parts.size() == 1) {
    return JsonResponse(EnvironmentJson(app));
  }
  return NotFound(path);
}

}  // namespace kiln::internal
