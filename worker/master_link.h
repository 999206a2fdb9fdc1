#pragma once
// MasterLink: a worker's registration with the master and its heartbeat loop. Register()
// retries until connect_timeout (or Stop()); the loop sends a heartbeat every interval
// and registers again — with the executors and drivers still running — when the master
// replies reregister=true (it restarted, or had declared this worker dead).
//
// Thread-safe. Start()/Stop() once each. Raising the owner's stop signal makes a
// Register() in progress give up (within one master call's timeout) and the heartbeats
// stop.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/background.h"
#include "common/clients/master_client.h"

namespace kiln::worker {

// What the link knows of its master, for the worker's /health: written by the link, read
// by any thread. Owned by the worker, so that it outlives the link and the HTTP server.
struct MasterLinkHealth {
  std::atomic<bool> registered{false};  // registered (again, when asked)
  std::atomic<bool> reachable{true};    // the last heartbeat reached the master
  // Empty when both hold, else why not, naming `master_url`.
  std::string Problem(const std::string& master_url) const;
};

struct MasterLinkOptions {
  std::string master_url;                     // for messages
  proto::RegisterWorkerRequest registration;  // without executors, drivers, app_dirs
  // Its app-* entries are declared as app_dirs when registering (not driver-* nor
  // binaries: a driver's dir is no application's).
  std::string work_dir;
  // The drivers to declare when registering (again); none when empty.
  std::function<std::vector<proto::RunningDriver>()> running_drivers;
  std::chrono::milliseconds heartbeat_interval{15'000};  // kiln.worker.heartbeatInterval
  std::chrono::milliseconds connect_timeout{30'000};     // kiln.master.connectTimeout
  const StopSignal* stop = nullptr;    // the owner's stop request; not owned; required
  MasterLinkHealth* health = nullptr;  // updated when set; not owned
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
  void Stop();   // ends the loop (the stop signal need not be raised)

 private:
  absl::Status RegisterOnce();
  void Heartbeat();  // one tick of the loop

  const MasterLinkOptions options_;
  MasterLinkHealth& health_;
  MasterClient* const client_;
  const RunningExecutors running_;
  PeriodicThread heartbeats_;
  MasterLinkHealth unused_health_;  // where options_.health is null
};

}  // namespace kiln::worker
