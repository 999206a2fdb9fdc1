#pragma once
// StateReporter: sends executor state changes to the master in order, from its own
// thread, so that neither the launcher nor the supervisor waits on the master.
//
// Thread-safe. Start()/Stop() once each; Stop() gives the queue a short time to drain
// (the master may be gone when a worker shuts down) and returns.

#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/background.h"
#include "proto/master.pb.h"

namespace kiln::worker {

// The executors that ended on this worker, as their final reports (EXITED, KILLED or
// FAILED), oldest first, for the worker's /json and page; the last kRetained only, as
// Spark's spark.worker.ui.retainedExecutors. Thread-safe.
class FinishedExecutors {
 public:
  static constexpr size_t kRetained = 1000;
  void Add(proto::ExecutorStateChangedRequest report);
  std::vector<proto::ExecutorStateChangedRequest> Snapshot() const;

 private:
  mutable absl::Mutex mu_;
  std::deque<proto::ExecutorStateChangedRequest> reports_ ABSL_GUARDED_BY(mu_);
};

class StateReporter {
 public:
  // `send` delivers one report (MasterClient::ExecutorStateChanged in the worker).
  // `draining` is true once Stop() was called: the sender should then not retry long.
  using Sender =
      std::function<absl::Status(const proto::ExecutorStateChangedRequest&, bool draining)>;

  // `finished` (optional, not owned) keeps each final report.
  StateReporter(std::string worker_id, Sender send, FinishedExecutors* finished = nullptr,
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
  FinishedExecutors* const finished_;
  const std::chrono::milliseconds drain_timeout_;
  WorkQueue<proto::ExecutorStateChangedRequest> queue_;
};

}  // namespace kiln::worker
