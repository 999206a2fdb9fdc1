#pragma once
// DriverRegistry: the drivers the cluster runs for kiln-submit --deploy-mode cluster,
// their state and where each runs, and a bounded list of the ones that ended.
//
// Not thread-safe: the Master holds it under its mutex. It does no resource accounting
// on workers; the Master keeps the WorkerRegistry in step with the drivers here.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace kiln::master {

// Spark's driver states. SUBMITTED: waiting for a worker with room; RELAUNCHING:
// supervised, it failed or lost its worker and waits out its backoff.
enum class DriverState { kSubmitted, kRunning, kRelaunching, kFinished, kFailed, kKilled, kError };
const char* DriverStateName(DriverState state);  // "SUBMITTED", "RUNNING", ...
bool IsFinal(DriverState state);

// What kiln-submit asks for (master.proto's SubmitDriverRequest).
struct DriverRequest {
  std::string name;
  std::string binary_digest;
  int64_t binary_size = 0;
  std::vector<std::string> args;
  std::string conf;  // serialized kiln::Config
  int cores = 1;
  int64_t memory_mb = 1024;
  bool supervise = false;
  int max_relaunches = 0;  // with supervise
  std::string user;
  std::string request_id;  // the same in every retry of one submission; may be empty
};

struct DriverInfo {
  std::string id;
  DriverRequest request;
  DriverState state = DriverState::kSubmitted;
  // Where it runs (RUNNING: it holds its cores and memory there) or last ran.
  std::string worker_id;
  // Its launches so far; the current or last one is launches - 1 (the attempt workers
  // report).
  int launches = 0;
  int relaunches = 0;
  // RELAUNCHING: not launched again before this.
  std::chrono::steady_clock::time_point relaunch_at;
  std::string app_id;   // the application it registered, once it has
  std::string message;  // why it failed, was killed or relaunches
  int exit_code = 0;    // of its last run that ended
  bool exited = false;  // a run of it has ended (exit_code is valid)
  std::chrono::system_clock::time_point submit_wall;
  std::chrono::system_clock::time_point end_wall;  // set when it ends
  // Known from its worker only: this master restarted (without a recovery directory)
  // while it ran. It is not relaunched (its binary and settings are not known here).
  bool adopted = false;

  int attempt() const { return launches - 1; }
};

class DriverRegistry {
 public:
  // Ended drivers kept for display; the oldest are forgotten past this.
  static constexpr size_t kMaxCompleted = 100;

  // Adds a SUBMITTED driver with id driver-<yyyyMMddHHmmss>-<NNNN> (local time of
  // `submit_wall`, then a counter of this master starting at 0000).
  DriverInfo& Add(DriverRequest request, std::chrono::system_clock::time_point submit_wall);
  // Adds a driver under an id it had before this master (re)started. The caller checks
  // that no driver has that id.
  DriverInfo& Readd(const std::string& id, DriverRequest request,
                    std::chrono::system_clock::time_point submit_wall);

  // An active (not ended) driver, or nullptr.
  DriverInfo* FindActive(const std::string& id);
  const DriverInfo* FindActive(const std::string& id) const;
  // An ended driver still remembered, or nullptr.
  const DriverInfo* FindCompleted(const std::string& id) const;
  // Active drivers in submission order.
  std::vector<DriverInfo*> Active();
  std::vector<const DriverInfo*> ActiveView() const;
  // Ended drivers, oldest first.
  const std::deque<DriverInfo>& completed() const { return completed_; }
  // True when an active driver runs from the binary with `digest`.
  bool UsesBinary(const std::string& digest) const;

  // Ends an active driver: sets its final state and end time and moves it to the
  // completed list.
  void Complete(const std::string& id, DriverState final_state,
                std::chrono::system_clock::time_point end_wall);

 private:
  std::vector<std::unique_ptr<DriverInfo>> active_;  // submission order
  std::deque<DriverInfo> completed_;
  int next_number_ = 0;
};

}  // namespace kiln::master
