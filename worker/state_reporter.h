#pragma once
// StateReporter: sends executor state changes to the master in order, from its own
// thread, so that neither the launcher nor the supervisor waits on the master.
//
// Thread-safe. Start()/Stop() once each; Stop() gives the queue a short time to drain
// (the master may be gone when a worker shuts down) and returns.

#include <chrono>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "common/background.h"
#include "proto/master.pb.h"

namespace kiln::worker {

class StateReporter {
 public:
  // `send` delivers one report (MasterClient::ExecutorStateChanged in the worker).
  // `draining` is true once Stop() was called: the sender should then not retry long.
  using Sender =
      std::function<absl::Status(const proto::ExecutorStateChangedRequest&, bool draining)>;

  StateReporter(std::string worker_id, Sender send,
                std::chrono::milliseconds drain_timeout = std::chrono::seconds(3));
  ~StateReporter() { Stop(); }

  void Start() { queue_.Start(); }
  void Stop();

  // Queues a report; `exit_code` matters for EXITED/FAILED (-N for signal N).
  void Report(const std::string& app_id, int executor_id, proto::ExecutorState state,
              const std::string& message, int exit_code = 0);

 private:
  void Send(const proto::ExecutorStateChangedRequest& request);

  const std::string worker_id_;
  const Sender send_;
  const std::chrono::milliseconds drain_timeout_;
  WorkQueue<proto::ExecutorStateChangedRequest> queue_;
};

}  // namespace kiln::worker
