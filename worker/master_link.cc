#include "worker/master_link.h"

#include "common/rpc.h"
#include "common/status.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace kiln::worker {

MasterLink::MasterLink(MasterLinkOptions options, MasterClient* client, RunningExecutors running)
    : options_(std::move(options)), client_(client), running_(std::move(running)) {}

MasterLink::~MasterLink() { Stop(); }

bool MasterLink::Sleep(std::chrono::milliseconds d) {
  absl::MutexLock lock(&mu_);
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
  mu_.AwaitWithTimeout(absl::Condition(&stopping), absl::FromChrono(d));
  return !stopping_;
}

absl::Status MasterLink::RegisterOnce() {
  proto::RegisterWorkerRequest request = options_.registration;
  for (proto::RunningExecutor& e : running_()) *request.add_executors() = std::move(e);
  return client_->RegisterWorker(request).status();
}

absl::Status MasterLink::Register() {
  const auto deadline = std::chrono::steady_clock::now() + options_.connect_timeout;
  rpc::Backoff backoff(std::chrono::milliseconds(100), std::chrono::milliseconds(2000));
  while (true) {
    absl::Status status = RegisterOnce();
    if (status.ok()) {
      spdlog::info("registered with master {} worker={}", options_.master_url,
                   options_.registration.worker_id());
      return status;
    }
    const auto now = std::chrono::steady_clock::now();
    const bool retryable = absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
    if (!retryable || now >= deadline) {
      return Annotate(status, StrCat("cannot register with master ", options_.master_url,
                                     retryable ? " (gave up after kiln.master.connectTimeout)"
                                               : ""));
    }
    auto delay = std::min<std::chrono::milliseconds>(
        backoff.Next(), std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    if (!Sleep(delay)) return absl::CancelledError("worker stopping");
  }
}

void MasterLink::Start() { thread_ = std::thread([this] { Run(); }); }

void MasterLink::Cancel() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
}

void MasterLink::Stop() {
  Cancel();
  if (thread_.joinable()) thread_.join();
}

void MasterLink::Run() {
  const std::string& worker_id = options_.registration.worker_id();
  bool failing = false;  // log a run of failures once, and the recovery
  while (Sleep(options_.heartbeat_interval)) {
    auto reply = client_->WorkerHeartbeat(worker_id);
    if (!reply.ok()) {
      if (!failing) {
        spdlog::warn("heartbeat to master {} failed (will keep trying): {}", options_.master_url,
                     View(reply.status().message()));
      }
      failing = true;
      continue;
    }
    if (failing) spdlog::info("master {} reachable again", options_.master_url);
    failing = false;
    if (!reply->reregister()) continue;
    spdlog::info("master {} asks worker={} to register again", options_.master_url, worker_id);
    absl::Status status = RegisterOnce();
    if (status.ok()) {
      spdlog::info("registered again with master {} worker={}", options_.master_url, worker_id);
    } else {
      spdlog::warn("registering again with master {} failed (next heartbeat retries): {}",
                   options_.master_url, View(status.message()));
    }
  }
}

}  // namespace kiln::worker
