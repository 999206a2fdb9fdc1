#include "runtime/executor_process.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "common/background.h"
#include "common/executor_command.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/mutexes.h"
#include "common/rpc.h"
#include "common/settings.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/subprocess.h"
#include "common/units.h"
#include "proto/driver.grpc.pb.h"
#include "runtime/allocator.h"
#include "runtime/block_store.h"
#include "runtime/broadcast_fetcher.h"
#include "runtime/crash_report.h"
#include "runtime/executor_shuffle.h"
#include "runtime/task_pool.h"
#include "spdlog/spdlog.h"

namespace kiln::runtime {
namespace {

using DriverStream = grpc::ClientReaderWriter<proto::ExecutorMessage, proto::DriverMessage>;

// Statuses from task threads and the running tasks' spill progress, written to the
// stream by one sender thread: all that wait go in one message.
class StatusSender {
 public:
  explicit StatusSender(DriverStream* stream)
      : stream_(stream),
        queue_({.threads = 1, .max_batch = 0},
               [this](std::vector<proto::StatusBatch>& batch) { Send(batch); }) {
    queue_.Start();
  }
  ~StatusSender() { Stop(); }

  void Add(proto::TaskStatus status) {
    proto::StatusBatch batch;
    *batch.add_statuses() = std::move(status);
    queue_.Push(std::move(batch));
  }
  void AddProgress(const std::vector<TaskProgress>& progress) {
    if (progress.empty()) return;
    proto::StatusBatch batch;
    for (const TaskProgress& p : progress) {
      proto::TaskProgress* out = batch.add_progress();
      out->set_task_id(p.task_id);
      MetricsToProto(p.metrics, out->mutable_metrics());
    }
    queue_.Push(std::move(batch));
  }
  // A heartbeat when nothing was sent for `interval` (kiln.executor.heartbeatInterval).
  void HeartbeatIfQuiet(std::chrono::milliseconds interval) {
    if (std::chrono::steady_clock::now() - last_sent() >= interval) {
      queue_.Push(proto::StatusBatch());  // empty: sent as a Heartbeat
    }
  }
  // Sends what is queued, then stops.
  void Stop() { queue_.Drain(std::chrono::milliseconds::max()); }

 private:
  std::chrono::steady_clock::time_point last_sent() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(last_sent_.load()));
  }

  void Send(std::vector<proto::StatusBatch>& batch) {
    if (broken_) return;  // the driver went away; the reader notices
    proto::ExecutorMessage message;
    for (const proto::StatusBatch& b : batch) message.mutable_statuses()->MergeFrom(b);
    if (message.statuses().statuses_size() == 0 && message.statuses().progress_size() == 0) {
      message.mutable_heartbeat();
    }
    if (!stream_->Write(message)) broken_ = true;
    last_sent_ = std::chrono::steady_clock::now().time_since_epoch().count();
  }

  DriverStream* const stream_;
  bool broken_ = false;  // touched by the queue's one thread only
  std::atomic<std::chrono::steady_clock::rep> last_sent_{0};
  WorkQueue<proto::StatusBatch> queue_;
};

// How often an executor tells the driver what its running tasks have spilled (only
// when that changed), at the most.
constexpr std::chrono::milliseconds kProgressInterval{1000};

// How often an executor compares its resident memory with its limit, to give back what
// its allocator keeps for reuse when it nears it (runtime/allocator.h).
constexpr std::chrono::milliseconds kMemoryCheckInterval{20};

// The worker asks an executor to stop with SIGTERM, when its application has ended or
// when it kills it. The executor then stops at once and exits 0: an end that was asked
// for, not a death by signal; the worker, which knows why it asked, reports EXITED or
// KILLED. Call before any thread starts, so that every thread inherits the blocked signal.
void ExitZeroOnSigterm() {
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, nullptr);
  std::thread([term] {
    int signal_number = 0;
    sigwait(&term, &signal_number);
    spdlog::info("stopping: SIGTERM from the worker");
    spdlog::default_logger()->flush();
    _exit(0);
  }).detach();
}

}  // namespace

int RunExecutorProcess(int argc, const char* const* argv) {
  ExitZeroOnSigterm();
  ConfigureMutexes();
  InitLogging("executor");
  absl::StatusOr<ExecutorCommand> args = ParseExecutorArgv(argc, argv);
  if (!args.ok()) {
    spdlog::error("{}", View(args.status().message()));
    return 2;
  }
  std::shared_ptr<const rpc::Security> security = rpc::Security::None();
  std::string executor_token;  // from the master, through the worker: shown to the driver
  if (args->credentials_on_stdin) {
    absl::StatusOr<rpc::Credentials> credentials = rpc::ReadCredentialsFromStdin();
    if (!credentials.ok()) {
      spdlog::error("{}", View(credentials.status().message()));
      return 2;
    }
    executor_token = credentials->executor_token;
    security = std::make_shared<const rpc::Security>(*std::move(credentials));
  }
  // The worker's word for it when it gave one (it checked the binary when it fetched it).
  const char* given = std::getenv(std::string(kExecutorBinaryDigestEnv).c_str());
  absl::StatusOr<std::string> digest = std::string(given != nullptr ? given : "");
  if (!IsSha256Hex(*digest)) {
    absl::StatusOr<std::string> self = SelfExePath();
    digest = self.ok() ? Sha256File(*self) : self.status();
  }
  if (!digest.ok()) {
    spdlog::error("cannot compute this binary's digest: {}", View(digest.status().message()));
    return 1;
  }
  auto stub = proto::Driver::NewStub(rpc::MakeChannel(args->driver_address, 256 << 20, security));
  grpc::ClientContext context;
  auto stream = stub->Connect(&context);
  proto::ExecutorMessage hello;
  proto::RegisterExecutor* reg = hello.mutable_register_();
  reg->set_app_id(args->app_id);
  reg->set_executor_id(args->executor_id);
  reg->set_host(args->host);
  reg->set_cores(args->cores);
  reg->set_binary_digest(*digest);
  reg->set_worker_id(args->worker_id);
  reg->set_shuffle_address(args->shuffle_address);
  reg->set_pid(static_cast<int>(getpid()));
  reg->set_executor_token(executor_token);
  if (const char* log_url = std::getenv(std::string(kExecutorLogUrlEnv).c_str())) {
    reg->set_log_url(log_url);
  }
  proto::DriverMessage reply;
  if (!stream->Write(hello) || !stream->Read(&reply)) {
    spdlog::error("app={} executor={} cannot reach the driver at {}: {}", args->app_id,
                  args->executor_id, args->driver_address, stream->Finish().error_message());
    return 1;
  }
  if (reply.has_shutdown()) {
    spdlog::error("app={} executor={} refused by the driver: {}", args->app_id, args->executor_id,
                  reply.shutdown().reason());
    return 1;
  }
  absl::StatusOr<Config> conf = Config::Deserialize(reply.registered().conf());
  if (!conf.ok()) {
    spdlog::error("bad configuration from the driver: {}", View(conf.status().message()));
    return 1;
  }
  const Compression compression =
      ParseCompression(conf->GetString("kiln.io.compression.codec")).value_or(Compression::kLz4);
  std::unique_ptr<ShuffleEnv> shuffle = MakeShuffleEnv({
      .app_id = args->app_id,
      .app_dir = args->app_dir,
      .worker_id = args->worker_id,
      .compression = compression,
      .max_message_bytes = conf->GetBytes("kiln.rpc.message.maxSize"),
      .fetch_max_retries = static_cast<int>(conf->GetInt("kiln.shuffle.io.maxRetries")),
      .fetch_retry_wait = conf->GetDuration("kiln.shuffle.io.retryWait"),
      .security = security,
  });
  // Cached blocks on disk and spill files go under the application dir, removed with it.
  const std::string blocks_dir = StrCat(args->app_dir, "/blocks-", args->executor_id);
  const std::string spill_dir = StrCat(args->app_dir, "/spill-", args->executor_id);
  for (const std::string& dir : {blocks_dir, spill_dir}) {
    if (absl::Status s = MakeDirs(dir); !s.ok()) {
      spdlog::error("app={} executor={} {}", args->app_id, args->executor_id, View(s.message()));
      return 1;
    }
  }
  MemoryManager memory(
      ManagedMemory(args->memory_mb << 20, conf->GetDouble("kiln.memory.fraction")),
      conf->GetDouble("kiln.memory.storageFraction"));
  BlockStore blocks(&memory, blocks_dir);
  std::unique_ptr<BroadcastFetcher> fetcher = MakeBroadcastFetcher({
      .app_id = args->app_id,
      .executor_id = args->executor_id,
      .executor_token = executor_token,
      .app_dir = args->app_dir,
      .driver_address = args->driver_address,
      .security = security,
      .max_message_bytes = conf->GetBytes("kiln.rpc.message.maxSize"),
      .timeout = conf->GetDuration("kiln.network.timeout"),
  });
  BroadcastCache broadcasts(fetcher.get(), &memory);
  spdlog::info(
      "app={} executor={} registered with driver {} cores={} memory=\"{}\" managed=\"{}\" "
      "storage_region=\"{}\"",
      args->app_id, args->executor_id, args->driver_address, args->cores,
      FormatMib(args->memory_mb), FormatBytes(memory.managed()),
      FormatBytes(memory.storage_region()));
  if (absl::Status s = InstallCrashReport(
          StrCat(ExecutorDir(args->app_dir, args->executor_id), "/", kCrashedTaskFile));
      !s.ok()) {
    spdlog::warn("{}", View(s.message()));
  }
  {
    // Tells the worker this executor reached its driver (see kRegisteredFile).
    const std::string marker =
        StrCat(ExecutorDir(args->app_dir, args->executor_id), "/", kRegisteredFile);
    absl::StatusOr<ScopedFd> fd = OpenFile(marker, O_WRONLY | O_CREAT | O_TRUNC);
    if (!fd.ok()) spdlog::warn("{}", View(fd.status().message()));
  }

  int exit_code = kExitDriverLost;  // unless the driver says shut down
  {
    StatusSender sender(stream.get());
    RunningTasks running;
    const std::chrono::milliseconds heartbeat =
        conf->GetDuration("kiln.executor.heartbeatInterval");
    PeriodicThread progress(std::min(kProgressInterval, heartbeat), [&] {
      sender.AddProgress(running.TakeChanged());
      sender.HeartbeatIfQuiet(heartbeat);
    });
    TaskPool pool(
        args->cores,
        ExecutorEnv{shuffle.get(), &blocks, &memory, spill_dir, compression, &running, &broadcasts},
        [&](proto::TaskStatus s) { sender.Add(std::move(s)); });
    // Its worker's limit: kiln.executor.memory + kiln.executor.memoryOverhead.
    const int64_t memory_limit = (args->memory_mb + MemoryOverheadMb(*conf, "executor")) << 20;
    PeriodicThread release(kMemoryCheckInterval, [memory_limit] {
      (void)ResidentBytesReleasing(ReleaseThreshold(memory_limit));
    });
    progress.Start();
    release.Start();
    proto::DriverMessage message;
    while (stream->Read(&message)) {
      if (message.has_launch()) {
        pool.Submit(message.launch());
      } else if (message.has_kill_tasks()) {
        const proto::KillTasks& kill = message.kill_tasks();
        spdlog::info("app={} executor={} killing {} task(s): {}", args->app_id, args->executor_id,
                     kill.task_ids_size(), kill.reason());
        pool.Kill({kill.task_ids().begin(), kill.task_ids().end()});
      } else if (message.has_remove_dataset()) {
        int removed = blocks.RemoveDataset(message.remove_dataset().dataset());
        spdlog::debug("app={} executor={} unpersisted dataset {} ({} block(s))", args->app_id,
                      args->executor_id, message.remove_dataset().dataset(), removed);
      } else if (message.has_remove_broadcast()) {
        broadcasts.Remove(message.remove_broadcast().broadcast_id());
        spdlog::debug("app={} executor={} dropped broadcast {}", args->app_id, args->executor_id,
                      message.remove_broadcast().broadcast_id());
      } else if (message.has_shutdown()) {
        spdlog::info("app={} executor={} shutting down: {}", args->app_id, args->executor_id,
                     message.shutdown().reason());
        exit_code = 0;
        break;
      }
    }
    if (exit_code != 0) {
      spdlog::error("app={} executor={} lost its driver at {}; exiting (code {})", args->app_id,
                    args->executor_id, args->driver_address, kExitDriverLost);
    }
    pool.Stop();
    progress.Stop();
    sender.Stop();
  }
  context.TryCancel();
  return exit_code;
}

}  // namespace kiln::runtime
