#include "common/background.h"

namespace kiln {

void StopSignal::Raise() {
  absl::MutexLock lock(&mu_);
  raised_ = true;
}

bool StopSignal::raised() const {
  absl::MutexLock lock(&mu_);
  return raised_;
}

bool StopSignal::WaitFor(std::chrono::nanoseconds timeout) const {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&raised_), absl::FromChrono(timeout));
  return raised_;
}

PeriodicThread::PeriodicThread(std::chrono::milliseconds interval, std::function<void()> tick)
    : interval_(interval), tick_(std::move(tick)) {}

PeriodicThread::~PeriodicThread() { Stop(); }

void PeriodicThread::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void PeriodicThread::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool PeriodicThread::stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void PeriodicThread::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::FromChrono(interval_));
      if (stopping_) return;
    }
    tick_();
  }
}

SerialQueue::SerialQueue()
    : queue_({.threads = 1, .max_batch = 1}, [](std::vector<std::function<void()>>& batch) {
        for (std::function<void()>& fn : batch) fn();
      }) {}

}  // namespace kiln
