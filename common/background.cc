#include "common/background.h"

#include <algorithm>

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

KeyedSerialQueue::KeyedSerialQueue(int threads) : threads_wanted_(std::max(1, threads)) {}

void KeyedSerialQueue::Start() {
  if (!threads_.empty()) return;
  for (int i = 0; i < threads_wanted_; ++i) threads_.emplace_back([this] { Loop(); });
}

bool KeyedSerialQueue::Post(const std::string& key, std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  if (stopped_) return false;
  std::deque<std::function<void()>>& queue = queued_[key];
  queue.push_back(std::move(fn));
  if (queue.size() == 1 && !running_.contains(key)) ready_.push_back(key);
  return true;
}

void KeyedSerialQueue::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    queued_.clear();
    ready_.clear();
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void KeyedSerialQueue::Loop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    mu_.Await(absl::Condition(
        +[](KeyedSerialQueue* q)
             ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->mu_) { return q->stopped_ || !q->ready_.empty(); },
        this));
    if (stopped_) return;
    std::string key = std::move(ready_.front());
    ready_.pop_front();
    auto it = queued_.find(key);
    std::function<void()> fn = std::move(it->second.front());
    it->second.pop_front();
    running_.insert(key);
    mu_.Unlock();
    fn();
    mu_.Lock();
    running_.erase(key);
    it = queued_.find(key);
    if (it == queued_.end()) continue;  // stopped meanwhile
    if (it->second.empty()) {
      queued_.erase(it);
    } else {
      ready_.push_back(std::move(key));
    }
  }
}

}  // namespace kiln
