#include "master/command_queue.h"

#include <utility>

namespace kiln::master {

CommandQueue::~CommandQueue() { Stop(); }

void CommandQueue::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Loop(); });
}

void CommandQueue::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    pending_.clear();
  }
  if (thread_.joinable()) thread_.join();
}

void CommandQueue::Post(std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  pending_.push_back(std::move(fn));
}

void CommandQueue::Loop() {
  while (true) {
    std::function<void()> fn;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !pending_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      fn = std::move(pending_.front());
      pending_.pop_front();
    }
    fn();  // outside the lock: it performs RPCs
  }
}

}  // namespace kiln::master
