#include "worker/state_reporter.h"

#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace kiln::worker {

StateReporter::StateReporter(std::string worker_id, Sender send,
                             std::chrono::milliseconds drain_timeout)
    : worker_id_(std::move(worker_id)), send_(std::move(send)), drain_timeout_(drain_timeout) {}

StateReporter::~StateReporter() { Stop(); }

void StateReporter::Start() { thread_ = std::thread([this] { Run(); }); }

void StateReporter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      drain_deadline_ = std::chrono::steady_clock::now() + drain_timeout_;
    }
  }
  if (thread_.joinable()) thread_.join();
}

void StateReporter::Report(const std::string& app_id, int executor_id,
                           proto::ExecutorState state, const std::string& message,
                           int exit_code) {
  proto::ExecutorStateChangedRequest request;
  request.set_worker_id(worker_id_);
  request.set_app_id(app_id);
  request.set_executor_id(executor_id);
  request.set_state(state);
  request.set_message(message);
  request.set_exit_code(exit_code);
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(request));
}

void StateReporter::Run() {
  while (true) {
    proto::ExecutorStateChangedRequest request;
    bool draining = false;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping, nothing left
      if (stopping_ && std::chrono::steady_clock::now() >= drain_deadline_) {
        spdlog::warn("dropping {} executor state reports: shutting down", queue_.size());
        return;
      }
      request = std::move(queue_.front());
      queue_.pop_front();
      draining = stopping_;
    }
    absl::Status status = send_(request, draining);
    if (!status.ok()) {
      spdlog::warn("cannot report app={} executor={} state={}: {}", request.app_id(),
                   request.executor_id(), proto::ExecutorState_Name(request.state()),
                   View(status.message()));
    }
  }
}

}  // namespace kiln::worker
