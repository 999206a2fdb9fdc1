#pragma once
// MasterLink: a worker's registration with the master and its heartbeat loop. Register()
// retries until connect_timeout (or Stop()); the loop sends a heartbeat every interval
// and registers again — with the executors still running — when the master replies
// reregister=true (it restarted, or had declared this worker dead).
//
// Thread-safe. Start()/Stop() once each; Stop() also aborts a Register() in progress
// and returns within one master call's timeout.

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/clients/master_client.h"

namespace kiln::worker {

struct MasterLinkOptions {
  std::string master_url;                                 // for messages
  proto::RegisterWorkerRequest registration;              // without executors
  std::chrono::milliseconds heartbeat_interval{15'000};   // kiln.worker.heartbeatInterval
  std::chrono::milliseconds connect_timeout{30'000};      // kiln.master.connectTimeout
};

class MasterLink {
 public:
  // The executors to declare when registering (again).
  using RunningExecutors = std::function<std::vector<proto::RunningExecutor>()>;

  // `client` should not retry by itself (retry_for 0): MasterLink owns the retries.
  MasterLink(MasterLinkOptions options, MasterClient* client, RunningExecutors running);
  ~MasterLink();

  // Registers, retrying UNAVAILABLE and timeouts with backoff until connect_timeout.
  // The error names the master URL.
  absl::Status Register();

  void Start();  // the heartbeat loop
  // Makes Register() give up and the loop end, without waiting for it. Any thread.
  void Cancel();
  void Stop();   // Cancel() and wait for the loop

 private:
  absl::Status RegisterOnce();
  void Run();
  // Waits `d` or until Stop(); false when stopping.
  bool Sleep(std::chrono::milliseconds d);

  const MasterLinkOptions options_;
  MasterClient* const client_;
  const RunningExecutors running_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace kiln::worker
