#include "driver/task_set_manager.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/strings.h"
#include "common/units.h"
#include "driver/stage_metrics.h"
#include "spdlog/spdlog.h"

namespace kiln::internal {

TaskSetManager::TaskSetManager(TaskSet set, TaskSetOptions options, IsLive is_live)
    : set_(std::move(set)), options_(options), is_live_(std::move(is_live)) {
  const size_t n = set_.tasks.size();
  queued_.assign(n, 0);
  attempts_.assign(n, 0);
  failures_.assign(n, 0);
  failed_on_.resize(n);
  results_.resize(n);
  has_result_.assign(n, 0);
  running_on_.resize(n);
  started_.resize(n);
  speculated_.assign(n, 0);
  last_local_launch_ = options_.clock->Now();
  for (size_t i = 0; i < n; ++i) Enqueue(static_cast<int>(i));
}

void TaskSetManager::Enqueue(int index) {
  if (queued_[index]) return;
  queued_[index] = 1;
  ++waiting_;
  bool live = false;
  for (const std::string& id : task(index).preferred) {
    if (!is_live_(id)) continue;
    local_[id].push_back(index);
    live = true;
  }
  (live ? preferring_ : anywhere_).push_back(index);
  if (live) locality_armed_ = true;
}

bool TaskSetManager::GoesElsewhere(int index, const std::string& executor_id,
                                   int live_executors) const {
  const std::vector<std::string>& failed = failed_on_[index];
  if (failed.empty() || std::find(failed.begin(), failed.end(), executor_id) == failed.end()) {
    return false;
  }
  return std::count_if(failed.begin(), failed.end(),
                       [this](const std::string& id) { return is_live_(id); }) < live_executors;
}

int TaskSetManager::Take(std::deque<int>& queue, const std::string& executor_id,
                         int live_executors) {
  for (auto it = queue.begin(); it != queue.end();) {
    const int index = *it;
    if (!queued_[index]) {  // taken from another queue
      it = queue.erase(it);
      continue;
    }
    if (GoesElsewhere(index, executor_id, live_executors)) {
      ++it;
      continue;
    }
    queue.erase(it);
    queued_[index] = 0;
    --waiting_;
    ++attempts_[index];
    return index;
  }
  return -1;
}

int TaskSetManager::NextTask(const std::string& executor_id, int live_executors) {
  if (Done()) return -1;
  const auto now = options_.clock->Now();
  int index = -1;
  if (auto it = local_.find(executor_id); it != local_.end()) {
    index = Take(it->second, executor_id, live_executors);
    if (index >= 0) last_local_launch_ = now;
  }
  if (index < 0) index = Take(anywhere_, executor_id, live_executors);
  if (index < 0 && now - last_local_launch_ >= options_.locality_wait) {
    index = Take(preferring_, executor_id, live_executors);
  }
  if (index < 0) index = TakeSpeculative(executor_id);
  if (index >= 0) Launched(index, executor_id);
  return index;
}

int TaskSetManager::TakeSpeculative(const std::string& executor_id) {
  for (auto it = speculatable_.begin(); it != speculatable_.end();) {
    const int index = *it;
    const std::vector<std::string>& on = running_on_[index];
    if (has_result(index) || on.empty()) {  // over, or its attempt ended: no copy needed
      it = speculatable_.erase(it);
      continue;
    }
    if (std::find(on.begin(), on.end(), executor_id) != on.end()) {
      ++it;
      continue;
    }
    speculatable_.erase(it);
    ++attempts_[index];
    ++speculative_launches_;
    spdlog::info("speculative attempt of task {} of stage {} on executor {}", task(index).partition,
                 set_.plan.stage_id(), executor_id);
    return index;
  }
  return -1;
}

void TaskSetManager::Launched(int index, const std::string& executor_id) {
  std::vector<std::string>& on = running_on_[index];
  on.push_back(executor_id);
  if (on.size() == 1) started_[index] = options_.clock->Now();
}

bool TaskSetManager::AttemptEnded(int index, const std::string& executor_id) {
  std::vector<std::string>& on = running_on_[index];
  if (auto it = std::find(on.begin(), on.end(), executor_id); it != on.end()) on.erase(it);
  return !on.empty();
}

int TaskSetManager::CheckSpeculation() {
  if (!options_.speculation || Done()) return 0;
  const int tasks = static_cast<int>(set_.tasks.size());
  const int min_finished =
      std::max(1, static_cast<int>(std::floor(options_.speculation_quantile * tasks)));
  if (done_ < min_finished || durations_nanos_.empty()) return 0;
  std::vector<int64_t> sorted = durations_nanos_;
  auto middle = sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2);
  std::nth_element(sorted.begin(), middle, sorted.end());
  const auto median = std::chrono::nanoseconds(*middle);
  const auto threshold =
      std::max<std::chrono::nanoseconds>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             median * options_.speculation_multiplier),
                                         options_.speculation_min_runtime);
  const auto now = options_.clock->Now();
  int marked = 0;
  for (int index = 0; index < tasks; ++index) {
    if (has_result(index) || speculated_[index] || running_on_[index].size() != 1) continue;
    const auto running = now - started_[index];
    if (running <= threshold) continue;
    speculated_[index] = 1;
    speculatable_.push_back(index);
    ++marked;
    spdlog::info(
        "task {} of stage {} has run {} on executor {}, over {} (kiln.speculation.multiplier "
        "times the median of {} finished tasks): a copy will run elsewhere",
        task(index).partition, set_.plan.stage_id(),
        FormatMillis(std::chrono::duration_cast<std::chrono::milliseconds>(running).count()),
        running_on_[index].front(),
        FormatMillis(std::chrono::duration_cast<std::chrono::milliseconds>(threshold).count()),
        done_);
  }
  return marked;
}

int TaskSetManager::LaunchAhead(int cores) const {
  // Until a task of the set has finished, its tasks' length is unknown: none ahead.
  if (options_.launch_ahead <= 0 || done_ == 0) return 0;
  const int64_t mean = finished_nanos_ / done_;
  if (mean >= options_.short_task.count()) return 0;
  // Tiny tasks: enough queued to keep each core busy for about kLaunchAheadWindow, so that
  // one message carries many tasks each way instead of one.
  const int64_t fill = kLaunchAheadWindow.count() / std::max<int64_t>(mean, 1);
  const int64_t per_core = std::clamp<int64_t>(
      fill, options_.launch_ahead, std::max<int64_t>(options_.launch_ahead, kMaxLaunchAhead));
  return static_cast<int>(per_core) * cores;
}

void TaskSetManager::OnStatus(int index, proto::TaskStatus status,
                              std::shared_ptr<const ExecutorInfo> where) {
  const bool others_run = AttemptEnded(index, where->id);
  if (Done() || has_result(index)) return;  // late: the set or the task is over
  switch (status.state()) {
    case proto::TASK_FINISHED:
      finished_nanos_ += status.metrics().run_nanos();
      durations_nanos_.push_back(status.metrics().run_nanos());
      result_bytes_ += static_cast<int64_t>(status.result().size());
      results_[index] = TaskResult{std::move(status), std::move(where)};
      has_result_[index] = 1;
      ++done_;
      if (options_.max_result_bytes > 0 && result_bytes_ > options_.max_result_bytes) {
        failure_ = absl::ResourceExhaustedError(StrCat(
            "the driver's result memory ran out: total size of results of ", done_, " tasks (",
            FormatBytes(result_bytes_), ") is bigger than kiln.driver.maxResultSize (",
            FormatBytes(options_.max_result_bytes),
            "); collect() brings every partition to the driver: write the result with "
            "save_as_text_file, look at part of it with take(n), or raise "
            "kiln.driver.maxResultSize (0 = no limit)"));
      }
      return;
    case proto::TASK_FETCH_FAILED:
      // A map output on the task's own worker was read from its disk (no address): that
      // worker's shuffle service is where it lives. As Spark does, a fetch failure
      // drops every output held there, so that one attempt recomputes all it lost.
      fetch_failed_ =
          FetchFailed{status.fetch_failed_shuffle(), status.fetch_failed_map(),
                      status.fetch_failed_address().empty() ? where->shuffle_address
                                                            : status.fetch_failed_address(),
                      status.error()};
      return;
    case proto::TASK_KILLED:  // killed while its task had no result: it runs again
      if (!others_run) Enqueue(index);
      return;
    default:
      CountFailure(index, *where, status.error(), /*requeue=*/!others_run);
  }
}

void TaskSetManager::CountLostAttempt(int index, const ExecutorInfo& where,
                                      const std::string& error,
                                      const runtime::TaskMetrics& so_far) {
  if (Done() || has_result(index)) return;
  std::string detail;
  if (so_far.spill_count > 0) {
    detail = "the task had " + DescribeSpillsSoFar(so_far.spill_count, so_far.memory_bytes_spilled,
                                                   so_far.disk_bytes_spilled,
                                                   so_far.peak_execution_memory);
  }
  CountFailure(index, where, error, /*requeue=*/false, detail);
}

void TaskSetManager::CountFailure(int index, const ExecutorInfo& where, const std::string& error,
                                  bool requeue, const std::string& at_detail) {
  std::string at = StrCat("executor ", where.id, ", host ", where.host);
  if (!at_detail.empty()) StrAppend(&at, "; ", at_detail);
  ++failures_[index];
  std::vector<std::string>& failed_on = failed_on_[index];
  if (std::find(failed_on.begin(), failed_on.end(), where.id) == failed_on.end()) {
    failed_on.push_back(where.id);
  }
  spdlog::warn("task {} of stage {} failed on {} (attempt {}): {}", task(index).partition,
               set_.plan.stage_id(), at, attempts_[index], error);
  if (failures_[index] >= options_.max_failures) {
    failure_ = absl::AbortedError(StrCat(
        "Job aborted due to stage failure: task ", task(index).partition, " in stage ",
        set_.plan.stage_id(), " failed ", failures_[index],
        failures_[index] == 1 ? " time" : " times", ", most recent failure (", at, "): ", error));
  } else if (requeue) {
    Enqueue(index);
  }
}

void TaskSetManager::Requeue(int index, const std::string& executor_id) {
  const bool others_run = AttemptEnded(index, executor_id);
  if (!Done() && !has_result(index) && !others_run) Enqueue(index);
}

void TaskSetManager::ExecutorLost(const std::string& executor_id) {
  auto local = local_.find(executor_id);
  if (local == local_.end()) return;
  for (int index : local->second) {
    const auto& preferred = task(index).preferred;
    const bool live = std::any_of(preferred.begin(), preferred.end(), [&](const std::string& id) {
      return id != executor_id && is_live_(id);
    });
    if (queued_[index] && !live) anywhere_.push_back(index);
  }
  local_.erase(local);
}

bool TaskSetManager::Done() const {
  return !failure_.ok() || fetch_failed_.has_value() ||
         done_ == static_cast<int>(set_.tasks.size());
}

bool TaskSetManager::Delaying(std::chrono::nanoseconds* left) const {
  const bool waiting = std::any_of(preferring_.begin(), preferring_.end(),
                                   [this](int index) { return queued_[index] != 0; });
  if (!waiting) return false;
  *left = options_.locality_wait - (options_.clock->Now() - last_local_launch_);
  return left->count() > 0;
}

TaskSetOutcome TaskSetManager::TakeOutcome() {
  TaskSetOutcome outcome;
  if (!failure_.ok()) {
    outcome.status = failure_;
  } else if (fetch_failed_) {
    outcome.fetch_failed = fetch_failed_;
  } else {
    outcome.results = std::move(results_);
  }
  return outcome;
}

}  // namespace kiln::internal
