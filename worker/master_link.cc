#include "worker/master_link.h"

#include <filesystem>
#include <string>

#include "common/retry.h"
#include "common/status.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace kiln::worker {

std::string MasterLinkHealth::Problem(const std::string& master_url) const {
  if (!registered) return StrCat("not registered with master ", master_url);
  if (!reachable) return StrCat("its heartbeats do not reach master ", master_url);
  return "";
}

MasterLink::MasterLink(MasterLinkOptions options, MasterClient* client, RunningExecutors running)
    : options_(std::move(options)),
      health_(options_.health != nullptr ? *options_.health : unused_health_),
      client_(client),
      running_(std::move(running)),
      heartbeats_(options_.heartbeat_interval, [this] { Heartbeat(); }) {}

MasterLink::~MasterLink() { Stop(); }

absl::Status MasterLink::RegisterOnce() {
  proto::RegisterWorkerRequest request = options_.registration;
  for (proto::RunningExecutor& e : running_()) *request.add_executors() = std::move(e);
  if (options_.running_drivers) {
    for (proto::RunningDriver& d : options_.running_drivers()) {
      *request.add_drivers() = std::move(d);
    }
  }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(options_.work_dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.starts_with("app-") && e.is_directory(ec)) request.add_app_dirs(std::move(name));
  }
  return client_->RegisterWorker(request).status();
}

absl::Status MasterLink::Register() {
  absl::Status status = rpc::RetryUnavailable({.total = options_.connect_timeout,
                                               .initial_backoff = std::chrono::milliseconds(100),
                                               .max_backoff = std::chrono::milliseconds(2000),
                                               .stop = options_.stop},
                                              [this] { return RegisterOnce(); });
  health_.registered = status.ok();
  if (status.ok()) {
    spdlog::info("registered with master {} worker={}", options_.master_url,
                 options_.registration.worker_id());
    return status;
  }
  if (options_.stop->raised()) return absl::CancelledError("worker stopping");
  return Annotate(
      status,
      StrCat("cannot register with master ", options_.master_url,
             rpc::IsTransient(status) ? " (gave up after kiln.master.connectTimeout)" : ""));
}

void MasterLink::Start() { heartbeats_.Start(); }

void MasterLink::Stop() { heartbeats_.Stop(); }

void MasterLink::Heartbeat() {
  if (options_.stop->raised()) return;
  const std::string& worker_id = options_.registration.worker_id();
  auto reply = client_->WorkerHeartbeat(worker_id, options_.registration.worker_token());
  if (!reply.ok()) {
    if (health_.reachable) {  // a run of failures is logged once, and the recovery
      spdlog::warn("heartbeat to master {} failed (will keep trying): {}", options_.master_url,
                   View(reply.status().message()));
    }
    health_.reachable = false;
    return;
  }
  if (!health_.reachable) spdlog::info("master {} reachable again", options_.master_url);
  health_.reachable = true;
  if (!reply->reregister()) return;
  spdlog::info("master {} asks worker={} to register again", options_.master_url, worker_id);
  absl::Status status = RegisterOnce();
  health_.registered = status.ok();
  if (status.ok()) {
    spdlog::info("registered again with master {} worker={}", options_.master_url, worker_id);
  } else {
    spdlog::warn("registering again with master {} failed (next heartbeat retries): {}",
                 options_.master_url, View(status.message()));
  }
}

}  // namespace kiln::worker
