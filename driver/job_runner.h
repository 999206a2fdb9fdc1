#pragma once
// JobRunner: what Dataset<T> needs from the driver, kept apart from the driver's
// internals so that dataset.h (included by every user program) stays small.

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "driver/job_finding.h"
#include "driver/plan.h"
#include "driver/stage_metrics.h"

namespace kiln {

// Thrown by actions when a job fails, if the Context was built with
// exit_on_failure = false (by default a failed job prints its error and exits 1).
class JobFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace internal {

// Thread-safe.
class JobRunner {
 public:
  virtual ~JobRunner() = default;
  virtual int NewNodeId() = 0;
  virtual int NewShuffleId() = 0;
  // kiln.default.parallelism, or the cluster's executor cores (at least 2).
  virtual int DefaultParallelism() = 0;
  // Computes every partition of `node` through the result sink `sink`; returns each
  // partition's encoded result in partition order. `action` names the job ("count",
  // "collect", ...). On failure it reports the error and exits, or throws JobFailed.
  virtual std::vector<std::string> RunJob(const std::shared_ptr<const PlanNode>& node,
                                          const runtime::OpSpec& sink, std::string_view action) = 0;
  // The same for some partitions only (ascending, distinct): their results, in order.
  virtual std::vector<std::string> RunJobOn(const std::shared_ptr<const PlanNode>& node,
                                            const runtime::OpSpec& sink, std::string_view action,
                                            const std::vector<int>& partitions) = 0;
  // Reports an error found on the driver (a bad path, an empty reduce) the same way.
  [[noreturn]] virtual void Fail(const std::string& message) = 0;
  // Logs a warning about the plan the program builds (a costly operator) on the driver.
  virtual void Warn(const std::string& message) = 0;

  // An action's output directory, for a commit protocol: StartOutput refuses an existing
  // `dir` and makes it with its _temporary/ (where tasks write); it returns the absolute
  // path. CommitOutput renames _temporary/<attempt_files[p]> (the file of the one
  // attempt of partition p whose result the job kept) to part-NNNNN<extension>, removes
  // _temporary/ with every other attempt's file, and writes _SUCCESS: the driver alone
  // commits, so exactly one attempt of each partition does. Failures are reported as
  // Fail does, naming `action` and the path. An output started and not committed when
  // the job fails or the driver is interrupted is removed whole (no part file, no
  // _temporary/ left to refuse a rerun).
  virtual std::string StartOutput(const std::string& dir, std::string_view action) = 0;
  virtual void CommitOutput(const std::string& absolute_dir,
                            const std::vector<std::string>& attempt_files, std::string_view action,
                            std::string_view extension = "") = 0;

  // Caches the dataset's partitions on the executors that compute them, through its
  // cache point operator `cache_op`. Idempotent.
  virtual void Persist(const PlanNode& node, runtime::OpSpec cache_op) = 0;
  // Stops caching the dataset and drops its cached partitions.
  virtual void Unpersist(const PlanNode& node) = 0;
  virtual bool IsPersisted(const PlanNode& node) const = 0;
  // How many of its partitions some executor holds (for tests and the UI).
  virtual int CachedPartitions(const PlanNode& node) const = 0;
  // The stages of the last job that ran.
  virtual std::vector<StageMetrics> LastJobStages() const = 0;
  // The job doctor's findings on the last job that ran (none when kiln.doctor.enabled is
  // false).
  virtual std::vector<JobFinding> LastJobFindings() const = 0;
  // http://host:port of the application's UI, "" when it has none (kiln.ui.enabled).
  virtual std::string UiUrl() const = 0;
};

}  // namespace internal
}  // namespace kiln
