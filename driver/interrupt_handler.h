#pragma once
// InterruptHandler: turns SIGINT and SIGTERM into a call on an ordinary thread, so that
// a driver that is interrupted (Ctrl-C, `kill`, a scheduler's timeout) can still
// unregister its application and remove its half-written output before it exits, as
// Spark's shutdown hooks do. The signal handler only writes the signal's number to a
// pipe; the handler's own thread reads it and runs `on_signal`, which is expected to end
// the process (a second signal while it runs ends it at once, with the default action).
//
// One instance at a time per process (the signal handler is process-wide); the
// destructor restores the previous dispositions. Thread-safe.

#include <signal.h>

#include <functional>
#include <thread>

namespace kiln::internal {

class InterruptHandler {
 public:
  explicit InterruptHandler(std::function<void(int signal)> on_signal);
  ~InterruptHandler();
  InterruptHandler(const InterruptHandler&) = delete;
  InterruptHandler& operator=(const InterruptHandler&) = delete;

 private:
  std::function<void(int)> on_signal_;
  int pipe_[2] = {-1, -1};
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
  std::thread thread_;
};

}  // namespace kiln::internal
