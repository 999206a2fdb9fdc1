#pragma once
// CommandQueue: runs posted closures one at a time, in order, on its own thread — how the
// master performs worker RPCs without making its own RPC callers wait for them.
//
// Thread-safe. Start() once; Stop() waits for the closure in progress, drops the rest and
// joins (it is called by the destructor). Posts after Stop() are dropped.

#include <deque>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace kiln::master {

class CommandQueue {
 public:
  CommandQueue() = default;
  ~CommandQueue();
  CommandQueue(const CommandQueue&) = delete;
  CommandQueue& operator=(const CommandQueue&) = delete;

  void Start();
  void Stop();
  void Post(std::function<void()> fn);

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace kiln::master
