#pragma once
// ApplicationRegistry: the applications the master knows, the executors granted to each,
// and a bounded list of the ones that ended.
//
// Not thread-safe: the Master holds it under its mutex. It does no resource accounting
// on workers; the Master keeps the WorkerRegistry in step with the executors here.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::master {

// <prefix>-<yyyyMMddHHmmss>-<NNNN>: the local time of `wall`, then `number` (Spark's
// application and driver ids).
std::string StampedId(std::string_view prefix, std::chrono::system_clock::time_point wall,
                      int number);

enum class AppState { kWaiting, kRunning, kFinished, kFailed, kKilled };
const char* AppStateName(AppState state);  // "WAITING", "RUNNING", "FINISHED", ...

// What a driver asks for when it registers (master.proto's RegisterApplicationRequest).
struct ApplicationRequest {
  std::string name;
  int cores_per_executor = 0;  // 0 = one executor per worker with all its free cores
  int64_t memory_per_executor_mb = 0;
  int64_t memory_overhead_mb = 0;  // the worker's limit is memory + overhead
  int max_cores = 0;               // 0 = no cap
  std::string binary_digest;
  int64_t binary_size = 0;
  std::string driver_address;
  std::string user;
  std::string request_id;      // the same in every retry of one registration; may be empty
  int executor_limit = -1;     // dynamic allocation: executors it may hold; -1 = no limit
  std::string driver_id = {};  // cluster deploy mode: the driver that registered it
  std::string ui_url = {};     // of the application's UI; "" for none
};

enum class ExecutorState { kLaunching, kRunning };

struct ExecutorInfo {
  int id = 0;
  std::string worker_id;
  int cores = 0;
  int64_t memory_mb = 0;
  ExecutorState state = ExecutorState::kLaunching;
};

struct Application {
  std::string id;
  std::string token = {};  // RegisterApplicationReply.app_token: its driver's calls carry it
  ApplicationRequest request;
  AppState state = AppState::kWaiting;
  std::chrono::system_clock::time_point start_wall;
  std::chrono::system_clock::time_point end_wall;  // set when it ends
  std::chrono::steady_clock::time_point last_heartbeat;
  std::map<int, ExecutorInfo> executors;  // live grants, by executor id
  std::set<std::string> workers_used;     // every worker that was ever given an executor
  int next_executor_id = 0;
  // Executors that failed since one last registered (kiln.deploy.maxExecutorRetries).
  int consecutive_failures = 0;
  // Past kiln.deploy.maxExecutorRetries while some of its executors run: no new
  // executors until a worker joins (the app is not removed, as in Spark).
  bool launches_paused = false;
  // After kLaunchBackoffAfter failures in a row: no launch before this time.
  std::chrono::steady_clock::time_point launches_resume_at;
  std::string last_failure;  // the last executor failure: which, where, and its message
  // Set when a registered executor lost its stream to the driver (kExitDriverLost): no
  // more launches; the application ends when none of its executors runs.
  std::string driver_lost;
  // Set when one of its executors exited cleanly, which an executor does only when its
  // driver tells it to shut down (the driver is ending): no more launches, so that the
  // executors it stops are not replaced while it unregisters.
  bool driver_stopping = false;
  // Known from its workers only: this master restarted (or forgot it) while it ran, and
  // a worker that registered still runs its executors. No launches, and its driver's
  // heartbeat is told it is unknown (so that the driver registers it again, reclaiming
  // it), until then; it ends after kiln.app.timeout unclaimed.
  bool unclaimed = false;
  // Unclaimed, or reclaimed by its driver: executors its workers report are taken in.
  bool recovered = false;
  std::string end_reason;  // why it ended, once it has

  bool HasRunningExecutor() const;
  int cores_granted() const;
  bool HasExecutorOn(const std::string& worker_id) const;
};

class ApplicationRegistry {
 public:
  // Ended applications kept for display; the oldest are forgotten past this.
  static constexpr size_t kMaxCompleted = 100;

  // Adds a WAITING application and returns it. Its id is app-<yyyyMMddHHmmss>-<NNNN>
  // (local time of `start_wall`, then a counter of this master starting at 0000).
  Application& Add(ApplicationRequest request, std::chrono::system_clock::time_point start_wall,
                   std::chrono::steady_clock::time_point now);
  // Adds a WAITING application under an id it had before this master (re)started (see
  // Application::unclaimed). The caller checks that no application has that id.
  Application& Readd(const std::string& id, ApplicationRequest request,
                     std::chrono::system_clock::time_point start_wall,
                     std::chrono::steady_clock::time_point now);

  // An active (WAITING or RUNNING) application, or nullptr.
  Application* FindActive(const std::string& id);
  const Application* FindActive(const std::string& id) const;
  bool IsCompleted(const std::string& id) const;
  // An ended application still remembered, or nullptr.
  const Application* FindCompleted(const std::string& id) const;

  // Active applications in registration order.
  std::vector<Application*> Active();
  // Ended applications, oldest first.
  const std::deque<Application>& completed() const { return completed_; }
  std::vector<const Application*> ActiveView() const;

  // Grants the next executor id of `app` on a worker and returns it (LAUNCHING). The
  // application becomes RUNNING with its first executor and stays so until it ends.
  ExecutorInfo& AddExecutor(Application& app, const std::string& worker_id, int cores,
                            int64_t memory_mb);
  // Takes in an executor a worker reports running for `app` under its own id (granted
  // before this master restarted): RUNNING, and later ids start above it.
  ExecutorInfo& AdoptExecutor(Application& app, int id, const std::string& worker_id, int cores,
                              int64_t memory_mb);

  // Ends an active application: sets its final state and end time and moves it to the
  // completed list, with its executors as they were at the end (for display; the caller
  // frees their resources).
  void Complete(const std::string& id, AppState final_state,
                std::chrono::system_clock::time_point end_wall);

 private:
  std::vector<std::unique_ptr<Application>> active_;  // registration order
  std::deque<Application> completed_;
  int next_app_number_ = 0;
};

}  // namespace kiln::master
