// local[N]: the driver and one N-thread executor in one process, through the same DAG
// and task schedulers as a cluster. Shuffle files go to a temporary directory that is
// removed when the application ends.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "common/background.h"
#include "common/files.h"
#include "common/settings.h"
#include "common/strings.h"
#include "common/units.h"
#include "driver/backend.h"
#include "driver/stage_metrics.h"
#include "runtime/allocator.h"
#include "runtime/block_store.h"
#include "runtime/executor_shuffle.h"
#include "runtime/running_tasks.h"
#include "runtime/task_pool.h"
#include "spdlog/spdlog.h"

namespace kiln::internal {
namespace {

class LocalExecutor final : public ExecutorHandle {
 public:
  LocalExecutor(ExecutorInfo info, runtime::TaskPool* pool, runtime::BlockStore* blocks)
      : ExecutorHandle(std::move(info)), pool_(pool), blocks_(blocks) {}
  bool Launch(const proto::LaunchTasks& launch) override {
    pool_->Submit(launch);
    return true;
  }
  bool RemoveDataset(int dataset) override {
    blocks_->RemoveDataset(dataset);
    return true;
  }
  // Tasks here read the driver's own copy: nothing to drop.
  bool RemoveBroadcast(int64_t) override { return true; }
  bool KillTasks(const proto::KillTasks& kill) override {
    pool_->Kill({kill.task_ids().begin(), kill.task_ids().end()});
    return true;
  }

 private:
  runtime::TaskPool* pool_;
  runtime::BlockStore* blocks_;
};

// Local mode's tasks read the driver's own copy of a broadcast: nothing is encoded,
// fetched or decoded.
class LocalBroadcasts final : public runtime::BroadcastSource {
 public:
  explicit LocalBroadcasts(BroadcastRegistry* registry) : registry_(registry) {}
  absl::StatusOr<std::shared_ptr<const void>> Get(int64_t id, runtime::BroadcastDecoder,
                                                  runtime::TaskContext&) override {
    return registry_->Value(id);
  }

 private:
  BroadcastRegistry* const registry_;
};

class LocalBackend final : public Backend {
 public:
  explicit LocalBackend(BackendOptions options) : options_(std::move(options)) {
    app_id_ = StrCat("local-", std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
  }
  ~LocalBackend() override { Stop("FINISHED"); }

  absl::Status Start() override {
    std::string parent = options_.conf.GetString("kiln.local.dir");
    if (parent.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
    }
    // Scratch dirs of local drivers that died without cleaning up (SIGKILL, a crash).
    if (int swept = RemoveAbandonedDirs(parent, "kiln-local-"); swept > 0) {
      spdlog::info("removed {} scratch dir(s) of local-mode drivers that are gone from {}", swept,
                   parent);
    }
    absl::StatusOr<std::string> dir = MakeTempDir(parent, "kiln-" + app_id_ + "-");
    if (!dir.ok()) return dir.status();
    dir_ = *dir;
    absl::StatusOr<ScopedFd> owner = LockOwnedDir(dir_);
    if (!owner.ok()) return owner.status();
    owner_ = *std::move(owner);
    absl::StatusOr<runtime::Compression> codec =
        runtime::ParseCompression(options_.conf.GetString("kiln.io.compression.codec"));
    if (!codec.ok()) return codec.status();
    env_ = runtime::MakeShuffleEnv({.app_id = app_id_, .app_dir = dir_, .compression = *codec});
    // Local mode caches in the driver's memory, as Spark's local mode does.
    const Config& conf = options_.conf;
    for (const char* sub : {"/blocks", "/spill"}) {
      absl::Status made = MakeDirs(dir_ + sub);
      if (!made.ok()) return made;
    }
    memory_ = std::make_unique<runtime::MemoryManager>(
        runtime::ManagedMemory(conf.GetMemoryMb("kiln.driver.memory") << 20,
                               conf.GetDouble("kiln.memory.fraction")),
        conf.GetDouble("kiln.memory.storageFraction"));
    blocks_ = std::make_unique<runtime::BlockStore>(memory_.get(), dir_ + "/blocks");
    StartMemoryWatch(conf);
    TaskScheduler* tasks = options_.tasks;
    pool_ = std::make_unique<runtime::TaskPool>(
        options_.master.local_threads,
        runtime::ExecutorEnv{env_.get(), blocks_.get(), memory_.get(), dir_ + "/spill", *codec,
                             &running_, &broadcasts_},
        [tasks](proto::TaskStatus s) { tasks->OnStatuses("driver", {std::move(s)}); });
    ExecutorInfo info;
    info.id = "driver";
    info.host = "localhost";
    info.cores = options_.master.local_threads;
    options_.tasks->AddExecutor(std::make_shared<LocalExecutor>(info, pool_.get(), blocks_.get()));
    spdlog::debug("app={} local mode with {} thread(s), scratch dir {}", app_id_,
                  options_.master.local_threads, dir_);
    return absl::OkStatus();
  }

  void Stop(const std::string&) override {
    if (watch_ != nullptr) watch_->Stop();
    if (pool_ == nullptr) return;
    pool_->Stop();
    options_.tasks->RemoveExecutor("driver", "application ended");
    pool_.reset();
    blocks_.reset();
    memory_.reset();
    env_.reset();
    if (!dir_.empty()) RemoveAll(dir_).IgnoreError();
  }

  void Interrupt() override {
    if (!dir_.empty()) RemoveAll(dir_).IgnoreError();
  }

  const std::string& app_id() const override { return app_id_; }
  int ExpectedCores() const override { return options_.master.local_threads; }
  absl::Status Refresh() override { return absl::OkStatus(); }

 private:
  BackendOptions options_;
  std::string app_id_;
  std::string dir_;
  ScopedFd owner_;  // the lock that tells other local drivers dir_ is in use
  std::unique_ptr<runtime::ShuffleEnv> env_;
  LocalBroadcasts broadcasts_{options_.broadcasts};
  // Local mode runs the tasks in this process: it holds itself to kiln.driver.memory +
  // kiln.driver.memoryOverhead as a worker holds an executor, killing itself (with a
  // message saying so) when its resident memory passes the limit. Past half of it,
  // the allocator first gives back the memory it keeps for reuse (runtime/allocator.h).
  void StartMemoryWatch(const Config& conf) {
    const int64_t memory_mb = conf.GetMemoryMb("kiln.driver.memory");
    const int64_t overhead_mb = MemoryOverheadMb(conf, "driver");
    const int64_t limit = (memory_mb + overhead_mb) << 20;
    watch_ = std::make_unique<PeriodicThread>(std::chrono::milliseconds(50), [=, this] {
      absl::StatusOr<int64_t> rss =
          runtime::ResidentBytesReleasing(runtime::ReleaseThreshold(limit));
      if (!rss.ok() || *rss <= limit) return;
      std::string spills;
      for (const runtime::TaskProgress& t : running_.Spilled()) {
        StrAppend(
            &spills, "; task ", t.task_id, " (stage ", t.stage_id, ", partition ", t.partition,
            ") had ",
            DescribeSpillsSoFar(t.metrics.spill_count, t.metrics.memory_bytes_spilled,
                                t.metrics.disk_bytes_spilled, t.metrics.peak_execution_memory));
      }
      std::fprintf(stderr,
                   "kiln: the driver exceeded its memory limit of %s in local mode "
                   "(kiln.driver.memory %s + kiln.driver.memoryOverhead %s; RSS "
                   "%s%s): raise --driver-memory, or use more partitions so that each task "
                   "holds less; it kills itself\n",
                   FormatBytes(limit).c_str(), FormatMib(memory_mb).c_str(),
                   FormatMib(overhead_mb).c_str(), FormatBytes(*rss).c_str(), spills.c_str());
      std::fflush(stderr);
      raise(SIGKILL);
    });
    watch_->Start();
  }

  runtime::RunningTasks running_;  // before the pool and the watch, which use it
  std::unique_ptr<PeriodicThread> watch_;
  std::unique_ptr<runtime::MemoryManager> memory_;
  std::unique_ptr<runtime::BlockStore> blocks_;
  std::unique_ptr<runtime::TaskPool> pool_;
};

}  // namespace

std::unique_ptr<Backend> MakeLocalBackend(BackendOptions options) {
  return std::make_unique<LocalBackend>(std::move(options));
}

}  // namespace kiln::internal
