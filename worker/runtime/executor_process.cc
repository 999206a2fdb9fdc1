#include "worker/runtime/executor_process.h"

#include <unistd.h>

#include <cstring>
#include <deque>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "common/settings.h"
#include "common/status.h"
#include "common/strings.h"
#include "proto/driver.grpc.pb.h"
#include "spdlog/spdlog.h"
#include "worker/runtime/block_store.h"
#include "worker/runtime/task_pool.h"

namespace kiln::runtime {
namespace {

constexpr std::string_view kExecutorFlag = "--kiln-executor";

// Statuses from task threads, written to the stream by one sender thread in batches.
class StatusSender {
 public:
  explicit StatusSender(grpc::ClientReaderWriter<proto::ExecutorMessage, proto::DriverMessage>* stream)
      : stream_(stream), thread_([this] { Loop(); }) {}
  ~StatusSender() { Stop(); }

  void Add(proto::TaskStatus status) {
    absl::MutexLock lock(&mu_);
    pending_.push_back(std::move(status));
  }
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    while (true) {
      proto::ExecutorMessage message;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](StatusSender* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
              return s->stopping_ || !s->pending_.empty();
            },
            this));
        if (pending_.empty()) return;  // stopping, and everything sent
        for (proto::TaskStatus& s : pending_) {
          *message.mutable_statuses()->add_statuses() = std::move(s);
        }
        pending_.clear();
      }
      if (!stream_->Write(message)) return;  // the driver went away; the reader notices
    }
  }

  grpc::ClientReaderWriter<proto::ExecutorMessage, proto::DriverMessage>* stream_;
  absl::Mutex mu_;
  std::deque<proto::TaskStatus> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace

bool IsExecutorInvocation(int argc, char** argv) {
  return argc >= 2 && std::string_view(argv[1]) == kExecutorFlag;
}

absl::StatusOr<ExecutorArgs> ParseExecutorArgs(int argc, char** argv) {
  ExecutorArgs args;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg(argv[i]);
    size_t eq = arg.find('=');
    if (!arg.starts_with("--") || eq == std::string_view::npos) {
      return absl::InvalidArgumentError(StrCat("executor: bad argument '", arg, "'"));
    }
    std::string_view key = arg.substr(2, eq - 2), value = arg.substr(eq + 1);
    bool ok = true;
    if (key == "driver") args.driver = value;
    else if (key == "app-id") args.app_id = value;
    else if (key == "executor-id") ok = ParseNumber(value, &args.executor_id);
    else if (key == "cores") ok = ParseNumber(value, &args.cores) && args.cores > 0;
    else if (key == "memory-mb") ok = ParseNumber(value, &args.memory_mb);
    else if (key == "worker-id") args.worker_id = value;
    else if (key == "host") args.host = value;
    else if (key == "shuffle-address") args.shuffle_address = value;
    else if (key == "app-dir") args.app_dir = value;
    else ok = false;
    if (!ok) return absl::InvalidArgumentError(StrCat("executor: bad argument '", arg, "'"));
  }
  if (args.driver.empty() || args.app_id.empty() || args.app_dir.empty()) {
    return absl::InvalidArgumentError("executor: --driver, --app-id and --app-dir are required");
  }
  return args;
}

int RunExecutorProcess(int argc, char** argv) {
  InitLogging("executor");
  absl::StatusOr<ExecutorArgs> args = ParseExecutorArgs(argc, argv);
  if (!args.ok()) {
    spdlog::error("{}", View(args.status().message()));
    return 2;
  }
  absl::StatusOr<std::string> self = SelfExePath();
  absl::StatusOr<std::string> digest = self.ok() ? Sha256File(*self) : self.status();
  if (!digest.ok()) {
    spdlog::error("cannot compute this binary's digest: {}", View(digest.status().message()));
    return 1;
  }
  auto stub = proto::Driver::NewStub(rpc::MakeChannel(args->driver));
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
  proto::DriverMessage reply;
  if (!stream->Write(hello) || !stream->Read(&reply)) {
    spdlog::error("app={} executor={} cannot reach the driver at {}: {}", args->app_id,
                  args->executor_id, args->driver, stream->Finish().error_message());
    return 1;
  }
  if (reply.has_shutdown()) {
    spdlog::error("app={} executor={} refused by the driver: {}", args->app_id,
                  args->executor_id, reply.shutdown().reason());
    return 1;
  }
  absl::StatusOr<Config> conf = Config::Deserialize(reply.registered().conf());
  if (!conf.ok()) {
    spdlog::error("bad configuration from the driver: {}", View(conf.status().message()));
    return 1;
  }
  ShuffleEnvOptions env_options;
  env_options.app_id = args->app_id;
  env_options.app_dir = args->app_dir;
  env_options.worker_id = args->worker_id;
  env_options.compression =
      ParseCompression(conf->GetString("kiln.io.compression.codec")).value_or(Compression::kLz4);
  env_options.max_message_bytes = conf->GetBytes("kiln.rpc.message.maxSize");
  ShuffleEnv env(env_options);
  // Cached blocks on disk go under the application dir, removed with it.
  std::string blocks_dir = StrCat(args->app_dir, "/blocks-", args->executor_id);
  if (absl::Status s = MakeDirs(blocks_dir); !s.ok()) {
    spdlog::error("app={} executor={} {}", args->app_id, args->executor_id, View(s.message()));
    return 1;
  }
  BlockStore blocks(StorageCapacity(args->memory_mb << 20, conf->GetDouble("kiln.memory.fraction"),
                                    conf->GetDouble("kiln.memory.storageFraction")),
                    blocks_dir);
  spdlog::info("app={} executor={} registered with driver {} cores={} storage={} MiB",
               args->app_id, args->executor_id, args->driver, args->cores,
               blocks.capacity() >> 20);

  int exit_code = 1;
  {
    StatusSender sender(stream.get());
    TaskPool pool(args->cores, ExecutorEnv{&env, &blocks},
                  [&](proto::TaskStatus s) { sender.Add(std::move(s)); });
    proto::DriverMessage message;
    while (stream->Read(&message)) {
      if (message.has_launch()) {
        pool.Submit(message.launch());
      } else if (message.has_remove_dataset()) {
        int removed = blocks.RemoveDataset(message.remove_dataset().dataset());
        spdlog::debug("app={} executor={} unpersisted dataset {} ({} block(s))", args->app_id,
                      args->executor_id, message.remove_dataset().dataset(), removed);
      } else if (message.has_shutdown()) {
        spdlog::info("app={} executor={} shutting down: {}", args->app_id, args->executor_id,
                     message.shutdown().reason());
        exit_code = 0;
        break;
      }
    }
    if (exit_code != 0) {
      spdlog::error("app={} executor={} lost the driver at {}; exiting", args->app_id,
                    args->executor_id, args->driver);
    }
    pool.Stop();
    sender.Stop();
  }
  context.TryCancel();
  return exit_code;
}

}  // namespace kiln::runtime
