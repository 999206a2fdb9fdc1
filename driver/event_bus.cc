#include "driver/event_bus.h"

#include <utility>

namespace kiln::internal {

EventBus::~EventBus() { Stop(); }

void EventBus::AddListener(EventListener* listener) { listeners_.push_back(listener); }

void EventBus::Start() {
  if (!enabled_) return;
  absl::MutexLock lock(&mu_);
  if (running_ || stopping_) return;
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

void EventBus::Post(Event event) {
  if (!enabled_) return;
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  if (queue_.empty()) queue_.emplace_back();
  queue_.back().push_back(std::move(event));
  ++queued_;
  ++posted_;
  if (queued_ == kBatch) wake_.Signal();
}

void EventBus::PostAll(std::vector<Event>* events) {
  if (!enabled_) events->clear();
  if (events->empty()) return;
  std::vector<Event> batch;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      events->clear();
      return;
    }
    const bool was_short = queued_ < kBatch;
    queued_ += events->size();
    posted_ += events->size();
    queue_.push_back(std::move(*events));
    if (was_short && queued_ >= kBatch) wake_.Signal();
    if (!spare_.empty()) {
      batch = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  *events = std::move(batch);  // empty, with the room of a delivered batch if there was one
}

void EventBus::PostFirst(Event event) {
  if (!enabled_) return;
  absl::MutexLock lock(&mu_);
  if (stopping_ || running_) return;
  queue_.emplace(queue_.begin())->push_back(std::move(event));
  ++queued_;
  ++posted_;
}

void EventBus::Flush() {
  absl::MutexLock lock(&mu_);
  const uint64_t target = posted_;
  auto delivered = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return delivered_ >= target || !running_;
  };
  ++flushing_;
  wake_.Signal();
  mu_.Await(absl::Condition(&delivered));
  --flushing_;
}

void EventBus::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    wake_.Signal();
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  running_ = false;
}

void EventBus::Run() {
  std::vector<std::vector<Event>> batches;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      // A condition variable, not a Condition on mu_: with a Condition, every poster's
      // unlock would evaluate it.
      const absl::Time deadline = absl::Now() + kMaxDelay;
      while (queued_ < kBatch && (flushing_ == 0 || queued_ == 0) && !stopping_) {
        if (wake_.WaitWithDeadline(&mu_, deadline)) break;  // timed out
      }
      if (queued_ == 0) {
        if (stopping_) return;  // all delivered
        continue;
      }
      batches.swap(queue_);
      queued_ = 0;
    }
    uint64_t n = 0;
    for (const std::vector<Event>& batch : batches) {
      for (EventListener* listener : listeners_) listener->OnEvents(batch);
      n += batch.size();
    }
    for (std::vector<Event>& batch : batches) batch.clear();
    absl::MutexLock lock(&mu_);
    delivered_ += n;
    // Kept for PostAll to hand back: as many as one wake-up delivers, at most.
    while (!batches.empty() && spare_.size() < kSpareBatches) {
      spare_.push_back(std::move(batches.back()));
      batches.pop_back();
    }
    batches.clear();
  }
}

}  // namespace kiln::internal
