#pragma once
// Background work, written once for every daemon and library:
//
//  - PeriodicThread: runs a function every interval on a thread of its own (heartbeats,
//    liveness sweeps, supervision ticks, a progress bar).
//  - WorkQueue<T>: items handled in arrival order by a few threads of its own, one item
//    or a batch at a time (worker commands, state reports, task statuses, launches).
//  - KeyedSerialQueue: closures run one at a time and in order per key, different keys
//    at once (commands to one worker in order; a worker that hangs holds back no other).
//  - StopSignal: a one-way stop request that other threads check or wait for.
//
// Each owns its threads: Start() starts them (a second call does nothing), Stop() wakes
// them at once and returns when the function in progress, if any, has returned; the
// destructor stops. Nothing is ever detached. Thread-safe, except that Stop() must not
// be called from the object's own threads.

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace kiln {

// A one-way stop request: any thread may raise it, any number of times; others check it
// or wait for it (a retry's backoff, a registration loop).
class StopSignal {
 public:
  void Raise();
  bool raised() const;
  // Waits up to `timeout` for the signal; true once it is raised.
  bool WaitFor(std::chrono::nanoseconds timeout) const;

 private:
  mutable absl::Mutex mu_;
  bool raised_ ABSL_GUARDED_BY(mu_) = false;
};

class PeriodicThread {
 public:
  // `tick` runs every `interval`, the first time one interval after Start().
  PeriodicThread(std::chrono::milliseconds interval, std::function<void()> tick);
  ~PeriodicThread();
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  void Start();  // a second call, or one after Stop(), does nothing
  void Stop();
  // True once Stop() was called: a long tick may check it to return early.
  bool stopping() const;

 private:
  void Loop();

  const std::chrono::milliseconds interval_;
  const std::function<void()> tick_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

template <class T>
class WorkQueue {
 public:
  struct Options {
    int threads = 1;       // handlers running at once
    size_t max_batch = 1;  // items per handler call (0 = all queued)
  };
  // Called on a queue thread with 1..max_batch items, in arrival order; it may move
  // them out.
  using Handler = std::function<void(std::vector<T>& batch)>;

  WorkQueue(Options options, Handler handle) : options_(options), handle_(std::move(handle)) {}
  ~WorkQueue() { Stop(); }
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Starts the threads; a second call does nothing.
  void Start() {
    if (!threads_.empty()) return;
    for (int i = 0; i < std::max(1, options_.threads); ++i) {
      threads_.emplace_back([this] { Loop(); });
    }
  }

  // Queues an item. False, with the item dropped, once the queue is closed.
  bool Push(T item) {
    absl::MutexLock lock(&mu_);
    if (closed_) return false;
    queue_.push_back(std::move(item));
    return true;
  }
  // Queues every item, or none once the queue is closed.
  bool PushAll(std::vector<T> items) {
    absl::MutexLock lock(&mu_);
    if (closed_) return false;
    for (T& item : items) queue_.push_back(std::move(item));
    return true;
  }

  // Takes the queued items that `match` accepts out of the queue (not those being
  // handled) and returns them.
  std::vector<T> RemoveIf(const std::function<bool(const T&)>& match) {
    std::vector<T> removed;
    absl::MutexLock lock(&mu_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (match(*it)) {
        removed.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    return removed;
  }

  // Refuses new items and returns the queued ones, unhandled. Handlers in progress go on.
  std::vector<T> Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    std::vector<T> dropped(std::make_move_iterator(queue_.begin()),
                           std::make_move_iterator(queue_.end()));
    queue_.clear();
    return dropped;
  }

  // Refuses new items, goes on handling the queued ones for up to `timeout`, then stops
  // the threads; returns what was left unhandled.
  std::vector<T> Drain(std::chrono::milliseconds timeout) {
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
      drain_until_ = timeout == std::chrono::milliseconds::max()
                         ? absl::InfiniteFuture()
                         : absl::Now() + absl::FromChrono(timeout);
    }
    Join();
    return Close();
  }

  // Close() and wait for the handlers in progress; the queued items are dropped.
  void Stop() {
    Close();
    Join();
  }

  bool closed() const {
    absl::MutexLock lock(&mu_);
    return closed_;
  }

 private:
  void Join() {
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }

  void Loop() {
    std::vector<T> batch;
    while (true) {
      batch.clear();
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](WorkQueue* q)
                 ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->mu_) { return q->closed_ || !q->queue_.empty(); },
            this));
        if (queue_.empty() || (closed_ && absl::Now() >= drain_until_)) return;
        const size_t n =
            options_.max_batch == 0 ? queue_.size() : std::min(queue_.size(), options_.max_batch);
        for (size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      handle_(batch);
    }
  }

  const Options options_;
  const Handler handle_;
  mutable absl::Mutex mu_;
  std::deque<T> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // While closed, queued items are still handled until then (Drain).
  absl::Time drain_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::vector<std::thread> threads_;
};

// Closures posted with the same key run one at a time, in the order they were posted;
// closures of different keys run at once, on up to `threads` threads.
class KeyedSerialQueue {
 public:
  explicit KeyedSerialQueue(int threads);
  ~KeyedSerialQueue() { Stop(); }
  KeyedSerialQueue(const KeyedSerialQueue&) = delete;
  KeyedSerialQueue& operator=(const KeyedSerialQueue&) = delete;

  void Start();
  // False, with `fn` dropped, once the queue is stopped.
  bool Post(const std::string& key, std::function<void()> fn);
  // Waits for the closures in progress; the queued ones are dropped.
  void Stop();

 private:
  void Loop();

  const int threads_wanted_;
  absl::Mutex mu_;
  // Queued closures by key; a key is in ready_ while it has some and none of its runs.
  absl::flat_hash_map<std::string, std::deque<std::function<void()>>> queued_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> ready_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> running_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace kiln
