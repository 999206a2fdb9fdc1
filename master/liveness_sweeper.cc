#include "master/liveness_sweeper.h"

#include <algorithm>

namespace kiln::master {
namespace {

std::chrono::milliseconds ChooseInterval(const LivenessOptions& o) {
  if (o.interval.count() > 0) return o.interval;
  auto quarter = std::min(o.worker_timeout, o.app_timeout) / 4;
  return std::clamp(quarter, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

}  // namespace

LivenessSweeper::LivenessSweeper(LivenessOptions options, LivenessTarget* target)
    : options_(options),
      interval_(ChooseInterval(options)),
      target_(target),
      loop_(interval_, [this] { SweepOnce(); }) {}

void LivenessSweeper::SweepOnce() {
  auto now = options_.clock->Now();
  target_->ExpireWorkers(now - options_.worker_timeout);
  target_->ExpireApplications(now - options_.app_timeout);
  target_->ResumeLaunches(now);
}

}  // namespace kiln::master
