// kiln-worker: advertises this machine's cores and memory to a Kiln master, launches and
// supervises executors, and serves their shuffle files. See worker_flags.h for flags.

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "absl/synchronization/notification.h"
#include "common/cli.h"
#include "common/files.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/logging.h"
#include "common/mutexes.h"
#include "common/ready_file.h"
#include "common/retry.h"
#include "common/rpc_security.h"
#include "common/settings.h"
#include "common/strings.h"
#include "common/version.h"
#include "spdlog/spdlog.h"
#include "worker/worker.h"
#include "worker/worker_flags.h"

extern char** environ;

namespace kiln::worker {
namespace {

constexpr int kExitBadUsage = 2;

int Fail(int code, std::string_view message) {
  std::fprintf(stderr, "kiln-worker: %.*s\n", static_cast<int>(message.size()), message.data());
  return code;
}

// Waits for SIGTERM/SIGINT on its own thread (they are blocked everywhere else).
class SignalWaiter {
 public:
  explicit SignalWaiter(std::function<void(int)> on_signal)
      : thread_([this, on_signal = std::move(on_signal)] {
          sigset_t set = Signals();
          int sig = 0;
          sigwait(&set, &sig);
          if (!done_.HasBeenNotified()) {
            spdlog::info("received signal {}: shutting down", sig);
            on_signal(sig);
          }
        }) {}
  ~SignalWaiter() {
    if (!done_.HasBeenNotified()) done_.Notify();
    pthread_kill(thread_.native_handle(), SIGTERM);  // wakes sigwait if no signal came
    thread_.join();
  }
  static sigset_t Signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
  }

 private:
  absl::Notification done_;
  std::thread thread_;
};

// The worker's options from its flags and settings; errors name the flag or key.
absl::StatusOr<WorkerOptions> OptionsFrom(const WorkerFlags& flags, const Config& config) {
  WorkerOptions options;
  std::error_code ec;
  std::filesystem::path work_dir = std::filesystem::absolute(flags.work_dir, ec);
  if (ec) {
    return BadFlagValue("--work-dir", flags.work_dir, ec.message());
  }
  options.work_dir = work_dir.lexically_normal().string();
  if (options.work_dir.size() > 1 && options.work_dir.back() == '/') options.work_dir.pop_back();
  options.master_url = flags.master_url;
  options.master_address = flags.master.ToString();
  options.host = flags.host;
  options.port = flags.port;
  options.ui_port = flags.ui_port;
  options.cores = flags.cores;
  options.memory_mb = flags.memory_mb;
  options.heartbeat_interval = config.GetDuration("kiln.worker.heartbeatInterval");
  options.connect_timeout = config.GetDuration("kiln.master.connectTimeout");
  options.shuffle_chunk_size = config.GetBytes("kiln.shuffle.io.chunkSize");
  options.shuffle_fail_fetches = config.GetBool("kiln.test.failShuffleFetches");
  if (options.shuffle_fail_fetches) {
    spdlog::warn(
        "kiln.test.failShuffleFetches=true: this worker refuses every shuffle and broadcast fetch");
  }
  options.max_message_bytes = config.GetBytes("kiln.rpc.message.maxSize");
  options.cleanup_enabled = config.GetBool("kiln.worker.cleanup.enabled");
  options.keep_failed_logs = config.GetBool("kiln.worker.cleanup.keepFailedAppLogs");
  options.binary_cache_max_bytes = config.GetByteLimit("kiln.worker.binaryCache.maxSize");
  options.standby_executors = static_cast<int>(config.GetInt("kiln.worker.standbyExecutors"));
  if (options.shuffle_chunk_size <= 0 || options.shuffle_chunk_size > options.max_message_bytes) {
    return absl::InvalidArgumentError(
        "kiln.shuffle.io.chunkSize must be > 0 and at most kiln.rpc.message.maxSize");
  }
  if (options.heartbeat_interval.count() <= 0) {
    return absl::InvalidArgumentError("kiln.worker.heartbeatInterval must be > 0");
  }
  return options;
}

// The executors' memory cgroups as kiln.worker.memoryLimits asks: null for the RSS
// watchdog; an error when `cgroup` was asked for and cannot be had. `how` says which, for
// the log once the worker listens.
absl::StatusOr<std::unique_ptr<MemoryCgroups>> OpenCgroups(const Config& config, std::string* how) {
  const std::string mode = config.GetString("kiln.worker.memoryLimits");
  if (mode != "auto" && mode != "cgroup" && mode != "watchdog") {
    return absl::InvalidArgumentError(
        StrCat("setting kiln.worker.memoryLimits='", mode, "': expected auto, cgroup or watchdog"));
  }
  if (mode == "watchdog") {
    *how = "RSS watchdog (kiln.worker.memoryLimits=watchdog)";
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<MemoryCgroups>> cgroups = MemoryCgroups::Open();
  if (cgroups.ok()) {
    *how = StrCat("cgroup v", (*cgroups)->version(), " under ", (*cgroups)->parent());
    return cgroups;
  }
  if (mode == "cgroup") {
    return absl::FailedPreconditionError(
        StrCat("kiln.worker.memoryLimits=cgroup, but ", View(cgroups.status().message())));
  }
  *how = StrCat("RSS watchdog (no memory cgroup: ", View(cgroups.status().message()), ")");
  return nullptr;
}

// Standby executors need cgroups and kiln-exec-standby next to this binary; sets the
// helper's path in `options` when they can be had. Returns what to log ("" = nothing).
std::string FindStandbyHelper(WorkerOptions* options) {
  if (options->cgroups == nullptr || options->standby_executors == 0) return "";
  absl::StatusOr<std::string> self = SelfExePath();
  if (!self.ok()) return StrCat("none (", View(self.status().message()), ")");
  const std::string helper =
      (std::filesystem::path(*self).parent_path() / "kiln-exec-standby").string();
  if (access(helper.c_str(), X_OK) != 0) {
    return StrCat("none (", helper, " is missing: each executor is forked at its launch)");
  }
  options->standby_helper = helper;
  return StrCat(options->standby_executors, " kept ready (kiln.worker.standbyExecutors)");
}

int Main(int argc, char** argv) {
  // Before any thread exists, so that every thread inherits the mask.
  sigset_t signals = SignalWaiter::Signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto flags = ParseWorkerFlags(std::vector<std::string>(argv + 1, argv + argc), DetectMachine());
  if (!flags.ok()) return Fail(kExitBadUsage, View(flags.status().message()));
  if (flags->help) {
    std::printf("%s\n", WorkerUsage().c_str());
    return 0;
  }
  if (flags->version) {
    std::printf("%s\n", VersionText("kiln-worker").c_str());
    return 0;
  }
  if (flags->health) return CheckHealth("kiln-worker", flags->host, flags->ui_port);
  auto config = Config::Load(flags->conf, flags->properties_file, environ);
  if (!config.ok()) return Fail(kExitBadUsage, View(config.status().message()));
  for (const std::string& warning : UnreadSettingWarnings(flags->conf, kWorker, "kiln-worker")) {
    std::fprintf(stderr, "kiln-worker: warning: %s\n", warning.c_str());
  }
  ConfigureMutexes();
  InitLogging("worker");

  auto options = OptionsFrom(*flags, *config);
  if (!options.ok()) return Fail(kExitBadUsage, View(options.status().message()));
  auto credentials = rpc::LoadCredentials(*config, environ);
  if (!credentials.ok()) return Fail(kExitBadUsage, View(credentials.status().message()));
  options->credentials = *std::move(credentials);
  std::string memory_limits;
  auto cgroups = OpenCgroups(*config, &memory_limits);
  if (!cgroups.ok()) {
    return Fail(absl::IsInvalidArgument(cgroups.status()) ? kExitBadUsage : 1,
                View(cgroups.status().message()));
  }
  options->cgroups = cgroups->get();
  const std::string standbys = FindStandbyHelper(&*options);

  Worker worker(*options);
  absl::Notification shutdown;
  std::string stop_reason = "its process stopped";
  SignalWaiter signal_waiter([&](int sig) {
    stop_reason = StrCat("stopped by signal ", sig, " (SIG", sigabbrev_np(sig), ")");
    worker.RequestStop();
    shutdown.Notify();
  });

  if (absl::Status s = worker.Listen(); !s.ok()) return Fail(1, View(s.message()));
  spdlog::info("executor memory limits: {}", memory_limits);
  if (!standbys.empty()) spdlog::info("standby executor processes: {}", standbys);
  if (absl::Status s = worker.Register(); !s.ok()) {
    if (shutdown.HasBeenNotified()) return 0;
    // Unreachable: say where to look; refused (a wrong secret, a bad request): as is.
    spdlog::error("{}{}", View(s.message()),
                  rpc::IsTransient(s) ? " (is a master running there? check --master and "
                                        "kiln.master.connectTimeout)"
                                      : "");
    return 1;
  }
  // Ready once registered: the master lists it, and it takes executors.
  if (!flags->ready_file.empty()) {
    absl::Status s = WriteReadyFile(
        flags->ready_file,
        {{"grpc_port", worker.port()}, {"ui_port", worker.ui_port()}, {"pid", getpid()}});
    if (!s.ok()) return Fail(1, StrCat("--ready-file: ", View(s.message())));
  }
  ReadyFileRemover ready_file(flags->ready_file);
  shutdown.WaitForNotification();
  worker.Stop(StrCat("its process was ", stop_reason));
  return 0;
}

}  // namespace
}  // namespace kiln::worker

int main(int argc, char** argv) { return kiln::worker::Main(argc, argv); }
