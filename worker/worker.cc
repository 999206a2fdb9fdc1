#include "worker/worker.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <map>

#include "common/clients/driver_client.h"
#include "common/files.h"
#include "common/metrics_text.h"
#include "common/ports.h"
#include "common/retry.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/units.h"
#include "common/wait.h"
#include "spdlog/spdlog.h"
#include "worker/worker_logs.h"

namespace kiln::worker {

std::string MakeWorkerId(const std::string& host, int port) {
  time_t now = time(nullptr);
  struct tm local;
  localtime_r(&now, &local);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &local);
  return StrCat("worker-", stamp, "-", host, "-", port);
}

// The binary fetches in flight, by digest, so that Stop() and a finished application
// can cancel them. Thread-safe.
class Worker::ActiveFetches {
 public:
  absl::Status Fetch(DriverClientOptions options, const proto::FetchBinaryRequest& request,
                     const std::string& dest_path) {
    const std::string& digest = request.digest();
    DriverClient client(std::move(options));
    std::multimap<std::string, DriverClient*>::iterator it;
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) return absl::CancelledError("worker shutting down");
      it = clients_.emplace(digest, &client);
    }
    absl::Status status = client.FetchBinary(request, dest_path);
    absl::MutexLock lock(&mu_);
    clients_.erase(it);
    return status;
  }
  void Cancel(const std::string& digest) {
    absl::MutexLock lock(&mu_);
    auto [first, last] = clients_.equal_range(digest);
    for (auto it = first; it != last; ++it) it->second->Cancel();
  }
  void CancelAll() {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    for (auto& [digest, client] : clients_) client->Cancel();
  }

 private:
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::multimap<std::string, DriverClient*> clients_ ABSL_GUARDED_BY(mu_);
};

namespace {

MasterClientOptions MasterOptions(const WorkerOptions& o,
                                  std::shared_ptr<const rpc::Security> security,
                                  std::chrono::milliseconds retry_for) {
  MasterClientOptions m;
  m.address = o.master_address;
  m.security = std::move(security);
  m.call_timeout = std::min<std::chrono::milliseconds>(std::chrono::seconds(5), o.connect_timeout);
  m.retry_for = retry_for;
  return m;
}

}  // namespace

Worker::Worker(WorkerOptions options)
    : options_(std::move(options)),
      security_(std::make_shared<const rpc::Security>(options_.credentials)),
      token_(rpc::RandomToken()),
      fetches_(std::make_unique<ActiveFetches>()),
      shuffle_({.work_dir = options_.work_dir,
                .chunk_size = options_.shuffle_chunk_size,
                .fail_every_fetch = options_.shuffle_fail_fetches}),
      service_(&shuffle_, token_),
      table_(&processes_, RealClock::Get(), options_.kill_grace, options_.cgroups),
      binaries_(options_.work_dir + "/binaries",
                [this](const BinarySource& s, const std::string& d, const std::string& p) {
                  return FetchBinary(s, d, p);
                },
                {.max_bytes = options_.binary_cache_max_bytes}),
      master_(MasterOptions(options_, security_, std::chrono::milliseconds(0))) {
  info_.host = options_.host;
  info_.master_url = options_.master_url;
  info_.cores = options_.cores;
  info_.memory_mb = options_.memory_mb;
}

Worker::~Worker() { Stop(); }

absl::Status Worker::FetchBinary(const BinarySource& source, const std::string& digest,
                                 const std::string& dest_path) {
  if (source.from_master) {
    // A driver's binary, which kiln-submit uploaded: the master serves it to the worker
    // it placed the driver on (it checks the token). Whole: the master does not resume.
    unlink(dest_path.c_str());
    spdlog::info("fetching driver binary {} from master {}", digest, options_.master_url);
    proto::FetchDriverBinaryRequest request;
    request.set_worker_id(info_.id);
    request.set_worker_token(token_);
    request.set_digest(digest);
    return master_.FetchDriverBinary(request, dest_path, kDriverBinaryFetchTimeout);
  }
  DriverClientOptions options;
  options.address = source.driver_address;
  options.max_message_bytes = options_.max_message_bytes;
  options.security = security_;
  // A driver that streams more than it declared (or, undeclared, than the cache holds)
  // is cut off.
  options.max_binary_bytes = source.size > 0 ? source.size : options_.binary_cache_max_bytes;
  // What an earlier fetch of it left (its application ended first) is resumed.
  struct stat partial;
  int64_t offset = stat(dest_path.c_str(), &partial) == 0 ? partial.st_size : 0;
  if (source.size > 0 && offset >= source.size) offset = 0;
  spdlog::info("fetching binary {} of app={} from driver {}{}", digest, source.app_id,
               source.driver_address,
               offset > 0 ? StrCat(" from byte ", offset, " on") : std::string());
  proto::FetchBinaryRequest request;
  request.set_app_id(source.app_id);
  request.set_digest(digest);
  request.set_executor_id(source.executor_id);
  request.set_executor_token(source.executor_token);
  request.set_offset(offset);
  return fetches_->Fetch(std::move(options), request, dest_path);
}

absl::Status Worker::SendReport(const std::function<absl::Status()>& call) {
  // Once a stop is requested, one attempt only: the master may be gone too.
  return rpc::RetryUnavailable({.total = kReportRetryFor, .stop = &stop_requested_}, call);
}

absl::StatusOr<int> Worker::StartHttp(const std::string& bind_host) {
  http_.Get("/json", [this] {
    return HttpResponse{
        .body = WorkerJson(info_, table_.Snapshot(), finished_.Snapshot(), drivers_->Snapshot())};
  });
  http_.Get("/metrics", [this] {
    return HttpResponse{
        .content_type = std::string(kMetricsContentType),
        .body = WorkerMetrics(info_, table_.Snapshot(), drivers_->Snapshot(),
                              {.blocks = shuffle_.blocks_served(),
                               .bytes = shuffle_.bytes_served(),
                               .broadcast_bytes = shuffle_.broadcast_bytes_served()},
                              launcher_ != nullptr ? launcher_->Counts() : LaunchCounts{},
                              rpc_metrics_)};
  });
  http_.GetUnder("/logs/",
                 [this](std::string_view rest) { return ServeLog(options_.work_dir, rest); });
  http_.Get("/health", [this] {
    const std::string problem = link_health_.Problem(options_.master_url);
    if (problem.empty()) return HttpResponse{.content_type = "text/plain", .body = "ok\n"};
    return HttpResponse{.status = 503, .content_type = "text/plain", .body = problem + "\n"};
  });
  http_.Get("/", [this] {
    return HttpResponse{
        .content_type = "text/html; charset=utf-8",
        .body = WorkerHtml(info_, table_.Snapshot(), finished_.Snapshot(), drivers_->Snapshot())};
  });
  return http_.Start(bind_host, options_.ui_port);
}

std::unique_ptr<MasterLink> Worker::MakeMasterLink() {
  MasterLinkOptions link_options;
  link_options.master_url = options_.master_url;
  link_options.heartbeat_interval = options_.heartbeat_interval;
  link_options.connect_timeout = options_.connect_timeout;
  link_options.stop = &stop_requested_;
  link_options.work_dir = options_.work_dir;
  link_options.health = &link_health_;
  link_options.running_drivers = [this] { return drivers_->Running(); };
  proto::RegisterWorkerRequest& reg = link_options.registration;
  reg.set_worker_id(info_.id);
  reg.set_worker_token(token_);
  reg.set_host(options_.host);
  reg.set_port(info_.port);
  reg.set_ui_port(info_.ui_port);
  reg.set_cores(options_.cores);
  reg.set_memory_mb(options_.memory_mb);
  auto running = [this] {
    std::vector<proto::RunningExecutor> out;
    for (const ExecutorView& e : table_.Snapshot()) {
      proto::RunningExecutor r;
      r.set_app_id(e.spec.app_id);
      r.set_executor_id(e.spec.executor_id);
      r.set_cores(e.spec.cores);
      r.set_memory_mb(e.spec.memory_mb);
      out.push_back(std::move(r));
    }
    return out;
  };
  return std::make_unique<MasterLink>(std::move(link_options), &master_, running);
}

absl::Status Worker::Listen() {
  RETURN_IF_ERROR(Annotate(MakeDirs(options_.work_dir), "work dir (--work-dir)"));
  // One worker per work dir: two would delete each other's applications' files.
  absl::StatusOr<ScopedFd> claim = ClaimFile(options_.work_dir + "/.worker.lock");
  if (!claim.ok()) {
    return absl::FailedPreconditionError(StrCat("--work-dir ", options_.work_dir,
                                                ": in use by another worker (",
                                                View(claim.status().message()), ")"));
  }
  work_dir_claim_ = *std::move(claim);
  // On a loopback-only setup listen on loopback only; otherwise on every interface.
  const std::string bind_host = IsLoopbackHost(options_.host) ? options_.host : "0.0.0.0";
  rpc::ServerOptions server_options{.host = bind_host,
                                    .port = options_.port,
                                    .max_message_bytes = options_.max_message_bytes,
                                    .security = security_,
                                    .metrics = &rpc_metrics_};
  absl::StatusOr<rpc::RunningServer> server = rpc::StartServer(server_options, {&service_});
  if (!server.ok()) return Annotate(server.status(), StrCat("--port ", options_.port));
  server_ = *std::move(server);
  info_.port = server_.port;
  info_.id = MakeWorkerId(options_.host, info_.port);

  // Before the UI, whose pages read it.
  drivers_ = std::make_unique<DriverRunner>(
      DriverRunnerOptions{.work_dir = options_.work_dir,
                          .worker_id = info_.id,
                          .worker_token = token_,
                          .host = options_.host,
                          .kill_grace = options_.kill_grace,
                          .credentials = options_.credentials,
                          .send =
                              [this](const proto::DriverStateChangedRequest& r) {
                                return SendReport([&] { return master_.DriverStateChanged(r); });
                              }},
      &binaries_, &processes_);
  absl::StatusOr<int> ui_port = StartHttp(bind_host);
  if (!ui_port.ok()) return Annotate(ui_port.status(), StrCat("--ui-port ", options_.ui_port));
  info_.ui_port = *ui_port;

  reporter_ = std::make_unique<StateReporter>(
      info_.id,
      [this](proto::ExecutorStateChangedRequest r, bool draining) {
        r.set_worker_token(token_);
        if (draining) return master_.ExecutorStateChanged(r);
        return SendReport([&] { return master_.ExecutorStateChanged(r); });
      },
      &finished_);
  driver_notices_ = std::make_unique<WorkQueue<DriverNotice>>(
      WorkQueue<DriverNotice>::Options{.threads = 1}, [this](std::vector<DriverNotice>& batch) {
        for (const DriverNotice& n : batch) {
          DriverClient client({.address = n.driver_address,
                               .max_message_bytes = options_.max_message_bytes,
                               .security = security_});
          absl::Status s = client.ExecutorFailed(n.request);
          if (!s.ok()) {
            spdlog::debug("app={} executor={}: the driver did not hear of its failure: {}",
                          n.request.app_id(), n.request.executor_id(), View(s.message()));
          }
        }
      });
  driver_notices_->Start();
  supervisor_ = std::make_unique<ExecutorSupervisor>(
      ExecutorSupervisorOptions{.work_dir = options_.work_dir,
                                .cleanup_enabled = options_.cleanup_enabled,
                                .keep_failed_logs = options_.keep_failed_logs,
                                .on_failure =
                                    [this](const ExecutorSpec& spec, const std::string& message,
                                           int exit_code, int64_t crashed_task_id) {
                                      DriverNotice notice{.driver_address = spec.driver_address};
                                      notice.request.set_app_id(spec.app_id);
                                      notice.request.set_executor_id(spec.executor_id);
                                      notice.request.set_executor_token(spec.executor_token);
                                      notice.request.set_message(message);
                                      notice.request.set_exit_code(exit_code);
                                      notice.request.set_crashed_task_id(crashed_task_id);
                                      driver_notices_->Push(std::move(notice));
                                    }},
      &table_, reporter_.get());
  launcher_ = std::make_unique<ExecutorLauncher>(
      ExecutorLauncherOptions{
          .work_dir = options_.work_dir,
          .worker_id = info_.id,
          .host = options_.host,
          .port = info_.port,
          .ui_port = info_.ui_port,
          .cgroups = options_.cgroups,
          .executor_credentials = options_.credentials,
          .cancel_fetch = [this](const std::string& digest) { fetches_->Cancel(digest); },
          .standby_executors = options_.standby_executors,
          .standby_helper = options_.standby_helper},
      &table_, &binaries_, reporter_.get());
  control_ = {launcher_.get(), &table_, supervisor_.get(), drivers_.get()};

  link_ = MakeMasterLink();
  spdlog::info(
      "worker={} listening grpc={}:{} ui={}:{} cores={} memory=\"{}\" work_dir={} security=\"{}\"",
      info_.id, bind_host, info_.port, bind_host, info_.ui_port, options_.cores,
      FormatMib(options_.memory_mb), options_.work_dir, security_->Describe());
  return absl::OkStatus();
}

absl::Status Worker::Register() {
  reporter_->Start();
  supervisor_->Start();
  launcher_->Start();
  drivers_->Start();
  service_.Attach(&control_);
  RETURN_IF_ERROR(link_->Register());
  registered_ = true;
  link_->Start();
  return absl::OkStatus();
}

void Worker::RequestStop() { stop_requested_.Raise(); }

void Worker::Stop(const std::string& reason) {
  if (stopped_) return;
  stopped_ = true;
  // First: from now on state reports get one attempt (SendReport), so that the reports
  // of the executors killed below do not wait on a master that is gone.
  RequestStop();
  if (link_ != nullptr) link_->Stop();
  if (registered_) {
    // Before the executors go: the master stops placing executors here at once.
    absl::Status s = master_.UnregisterWorker(info_.id, token_, reason);
    if (!s.ok()) spdlog::info("could not tell the master this worker stops: {}", View(s.message()));
  }
  fetches_->CancelAll();
  if (launcher_ != nullptr) {
    // Drivers first, unreported: the master decides what becomes of a lost worker's
    // drivers. They and the executors die with the threads that forked them (PDEATHSIG),
    // and should get SIGTERM and a grace period, not SIGKILL.
    drivers_->Stop();
    launcher_->Close();
    table_.KillAll();
    if (!table_.Empty()) spdlog::info("stopping executors");
    WaitFor([this] { return table_.Empty(); }, options_.kill_grace + std::chrono::seconds(5));
    launcher_->Stop();
    supervisor_->Stop();
    supervisor_->Tick();  // report what the last moments reaped
    driver_notices_->Drain(std::chrono::milliseconds(1000));
    reporter_->Stop();
  }
  if (server_.server != nullptr) {
    server_.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  http_.Stop();
  if (launcher_ != nullptr) spdlog::info("worker={} stopped", info_.id);  // it had started
}

}  // namespace kiln::worker
