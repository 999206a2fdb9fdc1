#include "master/liveness_sweeper.h"

#include <algorithm>

#include "absl/time/time.h"

namespace kiln::master {
namespace {

std::chrono::milliseconds ChooseInterval(const LivenessOptions& o) {
  if (o.interval.count() > 0) return o.interval;
  auto quarter = std::min(o.worker_timeout, o.app_timeout) / 4;
  return std::clamp(quarter, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

}  // namespace

LivenessSweeper::LivenessSweeper(LivenessOptions options, LivenessTarget* target)
    : options_(options), interval_(ChooseInterval(options)), target_(target) {}

LivenessSweeper::~LivenessSweeper() { Stop(); }

void LivenessSweeper::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Loop(); });
}

void LivenessSweeper::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void LivenessSweeper::SweepOnce() {
  auto now = options_.clock->Now();
  target_->ExpireWorkers(now - options_.worker_timeout);
  target_->ExpireApplications(now - options_.app_timeout);
}

void LivenessSweeper::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                           absl::Milliseconds(static_cast<int64_t>(interval_.count())));
      if (stopping_) return;
    }
    SweepOnce();
  }
}

}  // namespace kiln::master
