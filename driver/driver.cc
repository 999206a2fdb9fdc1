#include "driver/driver.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/clock.h"
#include "common/driver_command.h"
#include "common/files.h"
#include "common/master_url.h"
#include "common/mutexes.h"
#include "common/ports.h"
#include "common/strings.h"
#include "common/units.h"
#include "runtime/ops_cache.h"
#include "runtime/ops_sink.h"
#include "runtime/storage_level.h"
#include "spdlog/spdlog.h"

namespace kiln::internal {

namespace {

std::string CurrentUser() {
  const char* user = std::getenv("USER");
  if (user != nullptr && user[0] != '\0') return user;
  return std::to_string(::getuid());
}

// Spark's spark.redaction.regex: values of settings named like secrets are not shown.
bool IsSecretSetting(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view word : {"secret", "password", "token"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

// Attempts of a task: kiln.task.maxFailures on a cluster; in local mode F of
// local[N,F], else 1 (Spark's local mode, where a failure is most likely the code's).
int MaxTaskFailures(const Config& conf) {
  absl::StatusOr<MasterUrl> master = ParseMasterUrl(conf.GetString("kiln.master"));
  if (master.ok() && master->local) return master->local_max_failures;
  return static_cast<int>(conf.GetInt("kiln.task.maxFailures"));
}

}  // namespace

Driver::Driver(DriverOptions options)
    : options_(std::move(options)),
      status_(AppStatusLimits{
          .retained_jobs = static_cast<int>(options_.conf.GetInt("kiln.ui.retainedJobs")),
          .retained_stages = static_cast<int>(options_.conf.GetInt("kiln.ui.retainedStages")),
          .retained_tasks = static_cast<int>(options_.conf.GetInt("kiln.ui.retainedTasks"))}),
      // Task events cost the scheduler a few percent at 50k tasks a second: with nothing
      // to read them, they are not built.
      events_(options_.conf.GetBool("kiln.ui.enabled") ||
              options_.conf.GetBool("kiln.doctor.enabled") ||
              options_.conf.GetBool("kiln.eventLog.enabled")),
      tasks_(
          TaskSchedulerOptions{
              .max_failures = MaxTaskFailures(options_.conf),
              .launch_ahead = std::max<int>(
                  0, static_cast<int>(options_.conf.GetInt("kiln.scheduler.launchAhead"))),
              .locality_wait = options_.conf.GetDuration("kiln.locality.wait"),
              .max_result_bytes = options_.conf.GetByteLimit("kiln.driver.maxResultSize"),
              .speculation = options_.conf.GetBool("kiln.speculation"),
              .speculation_interval = options_.conf.GetDuration("kiln.speculation.interval"),
              .speculation_multiplier = options_.conf.GetDouble("kiln.speculation.multiplier"),
              .speculation_quantile = options_.conf.GetDouble("kiln.speculation.quantile"),
              .speculation_min_runtime =
                  options_.conf.GetDuration("kiln.speculation.minTaskRuntime"),
              .events = events_.enabled() ? &events_ : nullptr,
              .eager_task_starts = options_.conf.GetBool("kiln.eventLog.enabled")},
          &cache_),
      broadcasts_(options_.conf.GetBytes("kiln.broadcast.blockSize"),
                  [this](int64_t id) { tasks_.RemoveBroadcast(id); }),
      dag_(&tasks_, &outputs_, &cache_,
           {.max_stage_attempts =
                static_cast<int>(options_.conf.GetInt("kiln.stage.maxConsecutiveAttempts")),
            .events = &events_,
            .accumulators = &accumulators_}),
      progress_(&tasks_) {
  ConfigureMutexes();
  events_.AddListener(&status_);
  absl::StatusOr<MasterUrl> master = ParseMasterUrl(options_.conf.GetString("kiln.master"));
  BackendOptions backend;
  backend.conf = options_.conf;
  backend.app_name = options_.app_name;
  backend.tasks = &tasks_;
  backend.broadcasts = &broadcasts_;
  backend.ui_url = [this] { return UiUrl(); };
  if (master.ok()) {
    backend.master = *master;
    backend_ = master->local ? MakeLocalBackend(std::move(backend))
                             : MakeClusterBackend(std::move(backend));
    if (options_.conf.GetBool("kiln.dynamicAllocation.enabled")) {
      if (master->local) {
        spdlog::warn("kiln.dynamicAllocation.enabled is ignored in local mode (one executor)");
      } else {  // started with the application
        allocation_ = std::make_unique<AllocationLoop>(AllocationOptionsFrom(options_.conf),
                                                       &tasks_, &cache_, backend_.get());
      }
    }
  } else {
    backend.master.local = true;
    backend.master.local_threads = 1;
    backend_ = MakeLocalBackend(std::move(backend));
    Fail(std::string(View(master.status().message())));
  }
  if (options_.handle_interrupts) {
    interrupts_ = std::make_unique<InterruptHandler>([this](int sig) { Interrupted(sig); });
  }
  if (options_.conf.GetBool("kiln.ui.showConsoleProgress")) progress_.Start();
}

Driver::~Driver() {
  interrupts_.reset();
  Stop("FINISHED");
}

void Driver::EnsureStarted() {
  absl::MutexLock lock(&start_mu_);
  if (started_ || stopped_) return;
  started_ = true;
  StartUi();  // first: the master learns its URL at registration
  absl::Status started = backend_->Start();
  if (!started.ok()) Fail(std::string(View(started.message())));
  StartEvents();
  if (allocation_) allocation_->Start();
  if (options_.announce) {
    std::fprintf(stderr, "kiln-submit: application %s (%s) on %s\n", backend_->app_id().c_str(),
                 options_.app_name.c_str(), options_.conf.GetString("kiln.master").c_str());
    if (ui_started_) std::fprintf(stderr, "kiln-submit: application UI at %s\n", ui_url_.c_str());
  }
}

const std::string& Driver::app_id() {
  EnsureStarted();
  return backend_->app_id();
}

void Driver::Stop(const std::string& final_state) {
  if (stopped_.exchange(true)) return;
  progress_.Stop();
  if (allocation_) allocation_->Stop();
  backend_->Stop(final_state);
  StopEvents(final_state);
  ui_.Stop();
}

void Driver::StartEvents() {
  const Config& conf = options_.conf;
  const std::string& app_id = backend_->app_id();
  if (conf.GetBool("kiln.eventLog.enabled")) {
    absl::StatusOr<std::unique_ptr<EventLogWriter>> log =
        EventLogWriter::Open(conf.GetString("kiln.eventLog.dir"), app_id);
    if (!log.ok()) Fail(std::string(View(log.status().message())));
    event_log_ = *std::move(log);
    events_.AddListener(event_log_.get());
  }
  ApplicationStart start{.app_id = app_id,
                         .app_name = options_.app_name,
                         .master = conf.GetString("kiln.master"),
                         .user = CurrentUser(),
                         .kiln_version = KILN_VERSION,
                         .time_ms = EpochMillis()};
  for (const SettingDef& def : AllSettings()) {
    auto set = conf.values().find(def.name);
    const bool explicit_value = set != conf.values().end();
    std::string value(explicit_value ? set->second : std::string(def.default_value));
    if (IsSecretSetting(def.name) && !value.empty()) value = "*********(redacted)";
    start.settings.push_back({.key = std::string(def.name),
                              .value = std::move(value),
                              .source = explicit_value ? "conf" : "default"});
  }
  events_.PostFirst(std::move(start));
  events_.Start();
}

void Driver::StartUi() {
  const Config& conf = options_.conf;
  if (!conf.GetBool("kiln.ui.enabled")) return;
  std::string host = conf.GetString("kiln.driver.host");
  if (host.empty()) {
    absl::StatusOr<MasterUrl> master = ParseMasterUrl(conf.GetString("kiln.master"));
    char name[256] = {0};
    host = !master.ok() || master->local || IsLoopbackHost(master->masters.front().host) ||
                   gethostname(name, sizeof(name) - 1) != 0
               ? "127.0.0.1"
               : name;
  }
  // Only on loopback when the driver is there: its pages are not behind the secret.
  absl::StatusOr<int> port = ui_.Start(IsLoopbackHost(host) ? "127.0.0.1" : "0.0.0.0",
                                       static_cast<int>(conf.GetInt("kiln.ui.port")));
  if (!port.ok()) {  // the job runs on: the UI is a window on it, not its work
    spdlog::warn("application UI not started: {}", View(port.status().message()));
    return;
  }
  ui_url_ = StrCat("http://", host, ":", *port);
  ui_started_ = true;
}

std::string Driver::UiUrl() const { return ui_started_ ? ui_url_ : ""; }

void Driver::StopEvents(const std::string& final_state) {
  events_.Post(ApplicationEnd{.final_state = final_state, .time_ms = EpochMillis()});
  events_.Stop();
}

void Driver::EndJob(int job) {
  events_.Flush();
  std::vector<JobFinding> findings;
  if (options_.conf.GetBool("kiln.doctor.enabled")) {
    const DoctorOptions doctor = DoctorOptionsFrom(options_.conf);
    const std::string report = status_.Read([&](const AppState& app) {
      findings = DiagnoseJob(app, job, doctor);
      return FormatFindings(app, job, findings);
    });
    if (!report.empty()) std::fputs(report.c_str(), stderr);
  }
  absl::MutexLock lock(&findings_mu_);
  last_findings_ = std::move(findings);
}

std::vector<JobFinding> Driver::LastJobFindings() const {
  absl::MutexLock lock(&findings_mu_);
  return last_findings_;
}

void Driver::WaitForExecutors(const std::function<int()>& want) {
  EnsureStarted();
  using std::chrono::milliseconds;
  using std::chrono::steady_clock;
  const milliseconds wait =
      options_.conf.GetDuration("kiln.scheduler.maxRegisteredResourcesWaitingTime");
  auto deadline = steady_clock::now() + wait;
  // With dynamic allocation, a job waiting for executors is a backlog that asks for them.
  struct Backlog {
    explicit Backlog(AllocationLoop* loop) : loop(loop) {
      if (loop != nullptr) loop->BeginWait();
    }
    ~Backlog() {
      if (loop != nullptr) loop->EndWait();
    }
    AllocationLoop* loop;
  } waiting_for_executors(allocation_.get());
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (tasks_.WaitForCores(std::max(1, want()),
                            std::clamp(left, milliseconds(0), milliseconds(500)))) {
      return;
    }
    if (std::string stopped = tasks_.StopReason(); !stopped.empty()) Fail(stopped);
    if (absl::Status alive = backend_->Refresh(); !alive.ok()) {
      Fail(std::string(View(alive.message())));
    }
    if (steady_clock::now() < deadline) continue;
    if (tasks_.TotalCores() > 0) return;  // fewer than wanted, but some: go on
    const Waiting waiting = backend_->WaitingStatus();
    if (waiting.queued) {
      // Other applications hold the cluster: its turn comes when they end or shrink, as
      // in Spark's FIFO queue, however long that takes. Said again every 15 s, as Spark
      // does (spark.scheduler.starvation.timeout).
      std::fprintf(stderr, "kiln: waiting for executors: %s; other applications hold them\n",
                   waiting.reason.c_str());
      deadline = steady_clock::now() + std::chrono::seconds(15);
      continue;
    }
    const std::string why = tasks_.LastUnregisteredFailure();
    std::string detail;
    if (!why.empty()) {
      detail = StrCat("; the last one to fail: ", why);
    } else if (!waiting.reason.empty()) {
      detail = StrCat(": the master says: ", waiting.reason);
    } else {
      detail = StrCat(": the cluster has no worker with a free core and ",
                      FormatMib(options_.conf.GetMemoryMb("kiln.executor.memory")),
                      " (kiln.executor.memory) free");
    }
    Fail(StrCat("no executor registered within ", wait.count(),
                " ms (kiln.scheduler.maxRegisteredResourcesWaitingTime)", detail));
  }
}

int Driver::DefaultParallelism() {
  int64_t configured = options_.conf.GetInt("kiln.default.parallelism");
  if (configured > 0) return static_cast<int>(configured);
  // Every core granted, so that the default does not depend on which executor was
  // quickest (Spark's depends on it: see the README).
  WaitForExecutors([this] { return backend_->ExpectedCores(); });
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
  WaitForExecutors([] { return 1; });  // the first executor; others join as they come
  int job = jobs_++;
  spdlog::debug("app={} job={} ({}) started on {} partition(s)", app_id(), job, action,
                partitions.size());
  events_.Post(JobStart{.job_id = job,
                        .action = std::string(action),
                        .partitions = static_cast<int>(partitions.size()),
                        .time_ms = EpochMillis()});
  absl::StatusOr<std::vector<std::string>> results = dag_.RunJob(node, sink, partitions, job);
  events_.Post(JobEnd{.job_id = job,
                      .succeeded = results.ok(),
                      .error = results.ok() ? "" : std::string(View(results.status().message())),
                      .time_ms = EpochMillis()});
  if (std::string named = accumulators_.DescribeJob(job); !named.empty()) {
    // The job's summary of its named accumulators, for the user as the doctor's report.
    std::fputs(StrCat("kiln: job ", job, " (", action, ") accumulators: ", named, "\n").c_str(),
               stderr);
  }
  EndJob(job);
  if (!results.ok()) {
    // The user's operation first: the job number only tells jobs of one program apart.
    Fail(StrCat(action, " failed (job ", job, "): ", View(results.status().message())));
  }
  return *std::move(results);
}

void Driver::Persist(const PlanNode& node, runtime::OpSpec cache_op) {
  int dataset = 0;
  StorageLevel level = StorageLevel::kMemoryOnly;
  runtime::DecodeCachePointParams(cache_op.params, &dataset, &level);
  const bool newly = !cache_.CacheOp(node.id).has_value();
  if (!cache_.Persist(node.id, node.num_partitions, std::move(cache_op))) {
    Fail(StrCat("persist: the ", node.name,
                " dataset is already persisted at another storage "
                "level; unpersist it first"));
  }
  if (newly) {
    events_.Post(DatasetPersisted{.dataset = node.id,
                                  .name = node.name,
                                  .num_partitions = node.num_partitions,
                                  .storage_level = StorageLevelName(level),
                                  .time_ms = EpochMillis()});
  }
}

void Driver::Unpersist(const PlanNode& node) {
  if (!cache_.Unpersist(node.id)) return;
  tasks_.RemoveDataset(node.id);
  events_.Post(DatasetUnpersisted{.dataset = node.id, .time_ms = EpochMillis()});
}

bool Driver::IsPersisted(const PlanNode& node) const { return cache_.CacheOp(node.id).has_value(); }

int Driver::CachedPartitions(const PlanNode& node) const {
  return cache_.CachedPartitions(node.id);
}

// A relaunched driver (kiln-submit --supervise) finds the output its earlier run had
// begun and never committed: a directory holding only _temporary. It is that run's, and
// goes; any other existing directory is the user's, and stays.
bool Driver::ClearAbandonedOutput(const std::string& dir) {
  const char* attempt = std::getenv(std::string(kDriverAttemptEnv).c_str());
  if (attempt == nullptr || std::string_view(attempt) == "0" || attempt[0] == '\0') return false;
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename() != "_temporary") return false;
  }
  if (ec || !fs::exists(fs::path(dir) / "_temporary", ec)) return false;
  spdlog::warn("removing {}: the uncommitted output of an earlier run of this driver", dir);
  return fs::remove_all(dir, ec) != static_cast<std::uintmax_t>(-1) && !ec;
}

std::string Driver::StartOutput(const std::string& dir, std::string_view action) {
  namespace fs = std::filesystem;
  const std::string absolute = fs::absolute(dir).lexically_normal().string();
  std::error_code ec;
  if (fs::exists(absolute, ec) && !ClearAbandonedOutput(absolute)) {
    Fail(StrCat(action, ": output directory ", absolute, " already exists"));
  }
  {
    absl::MutexLock lock(&outputs_mu_);
    open_outputs_.insert(absolute);
  }
  fs::create_directories(absolute + "/_temporary", ec);
  if (ec) {
    Fail(StrCat(action, ": cannot create output directory ", absolute, ": ", ec.message()));
  }
  return absolute;
}

void Driver::AbortOutputs() {
  std::set<std::string> outputs;
  {
    absl::MutexLock lock(&outputs_mu_);
    outputs.swap(open_outputs_);
  }
  for (const std::string& dir : outputs) {
    absl::Status removed = RemoveAll(dir);
    if (!removed.ok()) spdlog::warn("cannot remove unfinished output: {}", View(removed.message()));
  }
}

void Driver::Interrupted(int signal) {
  interrupted_ = true;
  std::fprintf(stderr, "kiln: interrupted by SIG%s: stopping the application\n",
               sigabbrev_np(signal));
  AbortOutputs();
  // A registration in flight finishes first (bounded by kiln.master.connectTimeout), so
  // that the application it creates is the one told KILLED.
  absl::MutexLock lock(&start_mu_);
  if (!stopped_.exchange(true)) {
    backend_->Interrupt();
    StopEvents("KILLED");
  }
  std::fflush(nullptr);
  std::_Exit(128 + signal);
}

void Driver::CommitOutput(const std::string& absolute_dir,
                          const std::vector<std::string>& attempt_files, std::string_view action,
                          std::string_view extension) {
  const std::string temporary = absolute_dir + "/_temporary/";
  for (size_t p = 0; p < attempt_files.size(); ++p) {
    const std::string part =
        StrCat(absolute_dir, "/", runtime::PartFileName(static_cast<int>(p)), extension);
    const std::string from = temporary + attempt_files[p];
    if (::rename(from.c_str(), part.c_str()) != 0) {
      // The usual cause: the output directory is not on a file system that the driver and
      // every worker share, so the executor's file is not where the driver looks.
      Fail(StrCat(action, ": cannot commit ", part, " from ", from, ": ", std::strerror(errno)));
    }
  }
  {
    absl::MutexLock lock(&outputs_mu_);
    open_outputs_.erase(absolute_dir);
  }
  RemoveAll(temporary).IgnoreError();
  const std::string success = absolute_dir + "/_SUCCESS";
  absl::StatusOr<ScopedFd> fd = OpenFile(success, O_WRONLY | O_CREAT | O_TRUNC);
  absl::Status status = fd.ok() ? fd->Close(success) : fd.status();
  if (!status.ok()) Fail(StrCat(action, ": ", View(status.message())));
}

void Driver::Warn(const std::string& message) { spdlog::warn("{}", message); }

void Driver::Fail(const std::string& message) {
  // The interrupt's own thread ends the process (the application KILLED, not FAILED): a
  // job that fails because of it waits for that.
  while (interrupted_) std::this_thread::sleep_for(std::chrono::seconds(1));
  AbortOutputs();
  if (!options_.exit_on_failure) throw JobFailed(message);
  // The one report of the failure: a plain line for the user, not a log line too.
  std::fprintf(stderr, "kiln: %s\n", message.c_str());
  Stop("FAILED");
  std::fflush(nullptr);
  // Skip static destructors: gRPC's background threads may still be winding down.
  std::_Exit(1);
}

}  // namespace kiln::internal
