#include "worker/state_reporter.h"

#include <vector>

#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace kiln::worker {

void FinishedExecutors::Add(proto::ExecutorStateChangedRequest report) {
  absl::MutexLock lock(&mu_);
  reports_.push_back(std::move(report));
  if (reports_.size() > kRetained) reports_.pop_front();
}

std::vector<proto::ExecutorStateChangedRequest> FinishedExecutors::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return {reports_.begin(), reports_.end()};
}

StateReporter::StateReporter(std::string worker_id, Sender send, FinishedExecutors* finished,
                             std::chrono::milliseconds drain_timeout)
    : worker_id_(std::move(worker_id)),
      send_(std::move(send)),
      finished_(finished),
      drain_timeout_(drain_timeout),
      queue_({}, [this](std::vector<proto::ExecutorStateChangedRequest>& batch) {
        for (const auto& request : batch) Send(request);
      }) {}

void StateReporter::Stop() {
  const size_t dropped = queue_.Drain(drain_timeout_).size();
  if (dropped > 0) spdlog::warn("dropping {} executor state reports: shutting down", dropped);
}

void StateReporter::Report(const std::string& app_id, int executor_id, proto::ExecutorState state,
                           const std::string& message, int exit_code) {
  proto::ExecutorStateChangedRequest request;
  request.set_worker_id(worker_id_);
  request.set_app_id(app_id);
  request.set_executor_id(executor_id);
  request.set_state(state);
  request.set_message(message);
  request.set_exit_code(exit_code);
  const bool final_state = state == proto::EXECUTOR_EXITED || state == proto::EXECUTOR_KILLED ||
                           state == proto::EXECUTOR_FAILED;
  if (finished_ != nullptr && final_state) finished_->Add(request);
  queue_.Push(std::move(request));
}

void StateReporter::Send(const proto::ExecutorStateChangedRequest& request) {
  absl::Status status = send_(request, /*draining=*/queue_.closed());
  if (!status.ok()) {
    spdlog::warn("cannot report app={} executor={} state={}: {}", request.app_id(),
                 request.executor_id(), proto::ExecutorState_Name(request.state()),
                 View(status.message()));
  }
}

}  // namespace kiln::worker
