#include "driver/driver.h"

#include <fcntl.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "common/files.h"
#include "common/master_url.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace kiln::internal {

Driver::Driver(DriverOptions options)
    : options_(std::move(options)),
      tasks_(
          TaskSchedulerOptions{
              .max_failures =
                  std::max<int>(1, static_cast<int>(options_.conf.GetInt("kiln.task.maxFailures"))),
              .launch_ahead = std::max<int>(
                  0, static_cast<int>(options_.conf.GetInt("kiln.scheduler.launchAhead"))),
              .locality_wait = options_.conf.GetDuration("kiln.locality.wait"),
              .max_result_bytes = options_.conf.GetByteLimit("kiln.driver.maxResultSize")},
          &cache_),
      dag_(&tasks_, &outputs_, &cache_),
      progress_(&tasks_) {
  absl::StatusOr<MasterUrl> master = ParseMasterUrl(options_.conf.GetString("kiln.master"));
  BackendOptions backend;
  backend.conf = options_.conf;
  backend.app_name = options_.app_name;
  backend.tasks = &tasks_;
  if (master.ok()) {
    backend.master = *master;
    backend_ = master->local ? MakeLocalBackend(std::move(backend))
                             : MakeClusterBackend(std::move(backend));
  } else {
    backend.master.local = true;
    backend.master.local_threads = 1;
    backend_ = MakeLocalBackend(std::move(backend));
    Fail(std::string(View(master.status().message())));
  }
  absl::Status started = backend_->Start();
  if (!started.ok()) Fail(std::string(View(started.message())));
  if (options_.conf.GetBool("kiln.ui.showConsoleProgress")) progress_.Start();
}

Driver::~Driver() { Stop("FINISHED"); }

void Driver::Stop(const std::string& final_state) {
  if (stopped_.exchange(true)) return;
  progress_.Stop();
  backend_->Stop(final_state);
}

void Driver::WaitForExecutors() {
  auto wait = options_.conf.GetDuration("kiln.scheduler.maxRegisteredResourcesWaitingTime");
  int expected = std::max(1, backend_->ExpectedCores());
  if (tasks_.WaitForCores(expected, wait)) return;
  if (tasks_.TotalCores() > 0) return;  // fewer than granted, but some: go on
  Fail(StrCat("no executor registered within ", wait.count(),
              " ms: the cluster has no worker with free cores and kiln.executor.memory=",
              options_.conf.GetMemoryMb("kiln.executor.memory"), "m free"));
}

int Driver::DefaultParallelism() {
  int64_t configured = options_.conf.GetInt("kiln.default.parallelism");
  if (configured > 0) return static_cast<int>(configured);
  WaitForExecutors();
  return std::max(2, tasks_.TotalCores());
}

std::vector<std::string> Driver::RunJob(const std::shared_ptr<const PlanNode>& node,
                                        const runtime::OpSpec& sink, std::string_view action) {
  std::vector<int> all(static_cast<size_t>(node->num_partitions));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  return RunJobOn(node, sink, action, all);
}

std::vector<std::string> Driver::RunJobOn(const std::shared_ptr<const PlanNode>& node,
                                          const runtime::OpSpec& sink, std::string_view action,
                                          const std::vector<int>& partitions) {
  WaitForExecutors();
  int job = jobs_++;
  spdlog::debug("app={} job={} ({}) started on {} partition(s)", app_id(), job, action,
                partitions.size());
  absl::StatusOr<std::vector<std::string>> results = dag_.RunJob(node, sink, partitions);
  if (!results.ok()) {
    Fail(StrCat("job ", job, " (", action, ") failed: ", View(results.status().message())));
  }
  return *std::move(results);
}

void Driver::Persist(const PlanNode& node, runtime::OpSpec cache_op) {
  if (!cache_.Persist(node.id, node.num_partitions, std::move(cache_op))) {
    Fail(StrCat("persist: the ", node.name,
                " dataset is already persisted at another storage "
                "level; unpersist it first"));
  }
}

void Driver::Unpersist(const PlanNode& node) {
  if (cache_.Unpersist(node.id)) tasks_.RemoveDataset(node.id);
}

bool Driver::IsPersisted(const PlanNode& node) const { return cache_.CacheOp(node.id).has_value(); }

int Driver::CachedPartitions(const PlanNode& node) const {
  return cache_.CachedPartitions(node.id);
}

std::string Driver::StartOutput(const std::string& dir, std::string_view action) {
  namespace fs = std::filesystem;
  const std::string absolute = fs::absolute(dir).lexically_normal().string();
  std::error_code ec;
  if (fs::exists(absolute, ec)) {
    Fail(StrCat(action, ": output directory ", absolute, " already exists"));
  }
  fs::create_directories(absolute + "/_temporary", ec);
  if (ec) {
    Fail(StrCat(action, ": cannot create output directory ", absolute, ": ", ec.message()));
  }
  return absolute;
}

void Driver::CommitOutput(const std::string& absolute_dir, std::string_view action) {
  RemoveAll(absolute_dir + "/_temporary").IgnoreError();
  const std::string success = absolute_dir + "/_SUCCESS";
  absl::StatusOr<ScopedFd> fd = OpenFile(success, O_WRONLY | O_CREAT | O_TRUNC);
  absl::Status status = fd.ok() ? fd->Close(success) : fd.status();
  if (!status.ok()) Fail(StrCat(action, ": ", View(status.message())));
}

void Driver::Fail(const std::string& message) {
  if (!options_.exit_on_failure) throw JobFailed(message);
  // The one report of the failure: a plain line for the user, not a log line too.
  std::fprintf(stderr, "kiln: %s\n", message.c_str());
  Stop("FAILED");
  std::fflush(nullptr);
  // Skip static destructors: gRPC's background threads may still be winding down.
  std::_Exit(1);
}

}  // namespace kiln::internal
