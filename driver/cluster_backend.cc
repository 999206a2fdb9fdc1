// kiln://host:port: the application registers with the master, which asks workers to
// start executors; they fetch this binary from the driver's service and connect back.

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/background.h"
#include "common/binary_digest.h"
#include "common/clients/master_client.h"
#include "common/driver_command.h"
#include "common/files.h"
#include "common/ports.h"
#include "common/retry.h"
#include "common/rpc.h"
#include "common/strings.h"
#include "driver/backend.h"
#include "driver/driver_service.h"
#include "driver/executor_allocation.h"
#include "spdlog/spdlog.h"

extern char** environ;

namespace kiln::internal {
namespace {

class ClusterBackend final : public Backend {
 public:
  explicit ClusterBackend(BackendOptions options) : options_(std::move(options)) {}
  ~ClusterBackend() override { Stop("FINISHED"); }

  absl::Status Start() override {
    const Config& conf = options_.conf;
    const HostPort& master = options_.master.masters.front();
    absl::StatusOr<std::string> binary = SelfExePath();
    if (!binary.ok()) return binary.status();
    absl::StatusOr<std::string> digest = CachedSha256File(*binary, DigestCacheDir());
    if (!digest.ok()) return digest.status();
    std::string host = conf.GetString("kiln.driver.host");
    if (host.empty()) {
      char name[256] = {0};
      host = IsLoopbackHost(master.host) || gethostname(name, sizeof(name) - 1) != 0 ? "127.0.0.1"
                                                                                     : name;
    }
    // A driver a worker runs (cluster deploy mode) uses the worker's credentials, on its
    // stdin: its settings' secret file and TLS paths name files of the submitting machine.
    const char* on_stdin = std::getenv(std::string(kCredentialsOnStdinEnv).c_str());
    absl::StatusOr<rpc::Credentials> credentials =
        on_stdin != nullptr && std::string_view(on_stdin) == "1"
            ? rpc::ReadCredentialsFromStdin()
            : rpc::LoadCredentials(conf, environ);
    if (!credentials.ok()) return credentials.status();
    const auto security = std::make_shared<const rpc::Security>(*std::move(credentials));
    std::string conf_text = conf.Serialize();
    const std::chrono::milliseconds network_timeout = conf.GetDuration("kiln.network.timeout");
    service_ =
        std::make_unique<DriverService>(DriverServiceOptions{.binary_path = *binary,
                                                             .binary_digest = *digest,
                                                             .conf = conf_text,
                                                             .network_timeout = network_timeout,
                                                             .broadcasts = options_.broadcasts},
                                        options_.tasks);
    rpc::ServerOptions server_options;
    server_options.host = IsLoopbackHost(host) ? host : "0.0.0.0";
    server_options.port = static_cast<int>(conf.GetInt("kiln.driver.port"));
    server_options.max_message_bytes = conf.GetBytes("kiln.rpc.message.maxSize");
    // An executor's connection outlives a pause shorter than kiln.network.timeout: the
    // heartbeats decide, not gRPC's keepalive.
    server_options.keepalive_timeout = network_timeout;
    server_options.security = security;
    absl::StatusOr<rpc::RunningServer> server = rpc::StartServer(server_options, {service_.get()});
    if (!server.ok()) return server.status();
    server_ = std::move(server->server);
    std::string driver_address = StrCat(host, ":", server->port);

    MasterClientOptions client_options;
    client_options.address = master.ToString();
    client_options.security = security;
    client_options.retry_for = conf.GetDuration("kiln.master.connectTimeout");
    client_options.call_timeout =
        std::min(client_options.retry_for, std::chrono::milliseconds(5000));
    master_ = std::make_unique<MasterClient>(client_options);
    proto::RegisterApplicationRequest request;
    request.set_name(options_.app_name);
    request.set_cores_per_executor(static_cast<int>(conf.GetInt("kiln.executor.cores")));
    request.set_memory_per_executor_mb(conf.GetMemoryMb("kiln.executor.memory"));
    request.set_memory_overhead_mb(MemoryOverheadMb(conf, "executor"));
    request.set_max_cores(static_cast<int>(conf.GetInt("kiln.cores.max")));
    if (conf.GetBool("kiln.dynamicAllocation.enabled")) {
      request.set_dynamic_allocation(true);
      request.set_initial_executors(InitialExecutors(conf));
    }
    request.set_binary_digest(*digest);
    std::error_code size_error;
    const auto binary_size = std::filesystem::file_size(*binary, size_error);
    if (!size_error) request.set_binary_size(static_cast<int64_t>(binary_size));
    request.set_driver_address(driver_address);
    request.set_ui_url(options_.ui_url());
    if (const char* driver_id = std::getenv(std::string(kDriverIdEnv).c_str())) {
      request.set_driver_id(driver_id);
    }
    const char* user = std::getenv("USER");
    request.set_user(user != nullptr ? user : "");
    // One id for every retry of this registration (MasterClient retries UNAVAILABLE and
    // timeouts): a lost reply does not make a second application.
    request.set_request_id(StrCat(host, "-", getpid(), "-", absl::ToUnixNanos(absl::Now()), "-",
                                  std::random_device{}()));
    absl::StatusOr<proto::RegisterApplicationReply> reply = master_->RegisterApplication(request);
    if (!reply.ok() && !rpc::IsTransient(reply.status())) {
      // Refused (no secret, a request no worker could hold, ...): as the master says.
      return absl::Status(reply.status().code(),
                          StrCat("master ", options_.master.original,
                                 " refused this application: ", View(reply.status().message())));
    }
    if (!reply.ok()) {
      return absl::UnavailableError(StrCat("cannot register with master ", options_.master.original,
                                           " within ", client_options.retry_for.count(),
                                           " ms: ", View(reply.status().message())));
    }
    app_id_ = reply->app_id();
    granted_cores_ = reply->granted_cores();
    app_token_ = reply->app_token();
    register_request_ = request;
    service_->SetAppId(app_id_, app_token_);
    registered_ = true;
    heartbeat_ =
        std::make_unique<PeriodicThread>(conf.GetDuration("kiln.driver.heartbeatInterval"), [this] {
          absl::Status alive = Refresh();
          // The master ended the application: jobs in flight fail with its reason.
          if (absl::IsFailedPrecondition(alive))
            options_.tasks->Stop(std::string(View(alive.message())));
        });
    heartbeat_->Start();
    liveness_ = std::make_unique<PeriodicThread>(
        std::min(network_timeout / 4, std::chrono::milliseconds(1000)),
        [service = service_.get()] { service->ExpireSilentExecutors(); });
    liveness_->Start();
    spdlog::info("app={} registered with master {} (driver at {})", app_id_,
                 options_.master.original, driver_address);
    return absl::OkStatus();
  }

  void Stop(const std::string& final_state) override {
    if (stopped_) return;
    stopped_ = true;
    if (heartbeat_) heartbeat_->Stop();
    if (liveness_) liveness_->Stop();
    options_.tasks->Stop("application ended");
    if (service_) service_->ShutdownExecutors("application " + final_state);
    if (registered_) {
      absl::Status s = master_->UnregisterApplication(app_id_, app_token_, final_state);
      if (!s.ok()) {
        spdlog::warn("app={} could not unregister from master: {}", app_id_, View(s.message()));
      }
    }
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }

  void Interrupt() override { Stop("KILLED"); }

  const std::string& app_id() const override { return app_id_; }
  int ExpectedCores() const override { return granted_cores_; }

  // One heartbeat: tells the master the driver is alive and learns the cores granted.
  absl::Status Refresh() override {
    if (!registered_) return absl::OkStatus();
    auto reply = master_->ApplicationHeartbeat(app_id_, app_token_);
    if (!reply.ok()) {
      spdlog::warn("app={} heartbeat to master {} failed: {}", app_id_, master_->address(),
                   View(reply.status().message()));
      return absl::OkStatus();  // the next one is the retry; kiln.app.timeout decides
    }
    if (!reply->known() && reply->end_reason().empty()) {
      // The master does not know it: it restarted while the application ran. Its
      // executors run on; registering again under the same id and token keeps them.
      return Reclaim();
    }
    if (!reply->known()) {
      return absl::FailedPreconditionError(StrCat("the master at ", options_.master.original,
                                                  " ended application ", app_id_, ": ",
                                                  reply->end_reason()));
    }
    granted_cores_ = reply->granted_cores();
    absl::MutexLock lock(&waiting_mu_);
    waiting_ = Waiting{.reason = reply->waiting_reason(), .queued = reply->queued()};
    return absl::OkStatus();
  }

  absl::Status RequestTotalExecutors(int total) override {
    if (!registered_) return absl::OkStatus();
    return master_->RequestExecutors(app_id_, app_token_, total);
  }

  absl::Status KillExecutors(const std::vector<std::string>& executor_ids) override {
    if (!registered_) return absl::OkStatus();
    std::vector<int> ids;
    for (const std::string& id : executor_ids) {
      int n = 0;
      if (absl::SimpleAtoi(id, &n)) ids.push_back(n);
    }
    return master_->KillExecutors(app_id_, app_token_, ids);
  }

  // Registers the application again under its id and token (the master restarted);
  // FAILED_PRECONDITION when the master will not have it back.
  absl::Status Reclaim() {
    proto::RegisterApplicationRequest request = register_request_;
    request.set_reclaim_app_id(app_id_);
    request.set_reclaim_app_token(app_token_);
    absl::StatusOr<proto::RegisterApplicationReply> reply = master_->RegisterApplication(request);
    if (reply.ok()) {
      spdlog::warn("app={}: the master at {} had forgotten it (restarted?): registered it again",
                   app_id_, options_.master.original);
      granted_cores_ = reply->granted_cores();
      return absl::OkStatus();
    }
    if (rpc::IsTransient(reply.status())) return absl::OkStatus();  // the next heartbeat retries
    return absl::FailedPreconditionError(
        StrCat("the master at ", options_.master.original, " does not know application ", app_id_,
               " and would not take it back: ", View(reply.status().message())));
  }

  Waiting WaitingStatus() const override {
    absl::MutexLock lock(&waiting_mu_);
    return waiting_;
  }

 private:
  BackendOptions options_;
  std::string app_id_;
  std::string app_token_;  // from the master: its later calls and the executor tokens
  proto::RegisterApplicationRequest register_request_;  // to register again (Reclaim)
  std::atomic<int> granted_cores_{0};
  mutable absl::Mutex waiting_mu_;
  Waiting waiting_ ABSL_GUARDED_BY(waiting_mu_);
  std::atomic<bool> registered_{false};
  bool stopped_ = false;
  std::unique_ptr<DriverService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<MasterClient> master_;
  std::unique_ptr<PeriodicThread> heartbeat_;  // every kiln.driver.heartbeatInterval
  std::unique_ptr<PeriodicThread> liveness_;   // ExpireSilentExecutors
};

}  // namespace

std::unique_ptr<Backend> MakeClusterBackend(BackendOptions options) {
  return std::make_unique<ClusterBackend>(std::move(options));
}

}  // namespace kiln::internal
