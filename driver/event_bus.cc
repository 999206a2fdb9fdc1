#include "driver/event_bus.h"

#include <utility>

namespace kiln::internal {

EventBus::~EventBus() { Stop(); }

void EventBus::AddListener(EventListener* listener) { listeners_.push_back(listener); }

void EventBus::Start() {
  absl::MutexLock lock(&mu_);
  if (running_ || stopping_) return;
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

void EventBus::Post(Event event) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  queue_.push_back(std::move(event));
  ++posted_;
}

void EventBus::PostAll(std::vector<Event>* events) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      for (Event& e : *events) queue_.push_back(std::move(e));
      posted_ += events->size();
    }
  }
  events->clear();
}

void EventBus::PostFirst(Event event) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || running_) return;
  queue_.insert(queue_.begin(), std::move(event));
  ++posted_;
}

void EventBus::Flush() {
  absl::MutexLock lock(&mu_);
  const uint64_t target = posted_;
  auto delivered = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return delivered_ >= target || !running_;
  };
  ++flushing_;
  mu_.Await(absl::Condition(&delivered));
  --flushing_;
}

void EventBus::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  running_ = false;
}

void EventBus::Run() {
  std::vector<Event> batch;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return queue_.size() >= kBatch || (flushing_ > 0 && !queue_.empty()) || stopping_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&ready), kMaxDelay);
      if (queue_.empty()) {
        if (stopping_) return;  // all delivered
        continue;
      }
      batch.swap(queue_);
    }
    for (EventListener* listener : listeners_) listener->OnEvents(batch);
    const uint64_t n = batch.size();
    batch.clear();
    absl::MutexLock lock(&mu_);
    delivered_ += n;
  }
}

}  // namespace kiln::internal
