#pragma once
// WorkerRegistry: the workers the master knows, their capacity and what is in use.
//
// Not thread-safe: the Master holds it under its mutex. Resource accounting is checked
// (KILN_CHECK): using more than a worker has, or freeing more than it uses, is a bug.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kiln::master {

// kUnknown: known from the recovery directory only, until it registers again.
enum class WorkerState { kAlive, kDead, kUnknown };
const char* WorkerStateName(WorkerState state);  // "ALIVE", "DEAD", "UNKNOWN"

struct WorkerInfo {
  std::string id;
  std::string host;
  int port = 0;  // gRPC (control + shuffle service)
  int ui_port = 0;
  int cores = 0;
  int64_t memory_mb = 0;
  int cores_used = 0;
  int64_t memory_used_mb = 0;
  WorkerState state = WorkerState::kAlive;
  std::chrono::steady_clock::time_point last_heartbeat;
  std::string token =
      {};  // RegisterWorkerRequest.worker_token: its calls and our commands carry it

  int cores_free() const { return cores - cores_used; }
  int64_t memory_free_mb() const { return memory_mb - memory_used_mb; }
  std::string address() const;  // "host:port" of its gRPC service
};

class WorkerRegistry {
 public:
  // Most DEAD workers kept for display; the oldest are forgotten past this.
  static constexpr size_t kMaxDeadWorkers = 100;

  // Adds `worker` as ALIVE with nothing in use, replacing any entry with the same id.
  void Register(WorkerInfo worker);
  // nullptr when unknown.
  WorkerInfo* Find(const std::string& id);
  const WorkerInfo* Find(const std::string& id) const;
  // The ALIVE worker (other than `except_id`) serving host:port, or nullptr.
  WorkerInfo* FindAliveAt(const std::string& host, int port, const std::string& except_id);

  // Marks the worker DEAD and returns its resources to nothing-in-use (they leave the
  // pool: a DEAD worker offers nothing).
  void MarkDead(const std::string& id);

  void Allocate(const std::string& id, int cores, int64_t memory_mb);
  void Release(const std::string& id, int cores, int64_t memory_mb);

  // ALIVE workers, by id.
  std::vector<WorkerInfo*> Alive();
  std::vector<const WorkerInfo*> Alive() const;
  // The most cores and the most memory an ALIVE worker has (not necessarily the same
  // worker's); nullopt when none is ALIVE. What a request can never exceed.
  struct Largest {
    int cores = 0;
    int64_t memory_mb = 0;
  };
  std::optional<Largest> LargestAlive() const;
  // Every worker, ALIVE and DEAD, by id.
  std::vector<const WorkerInfo*> All() const;

 private:
  void ForgetOldDead();

  std::map<std::string, WorkerInfo> workers_;
  uint64_t next_seq_ = 0;
  std::map<std::string, uint64_t> dead_since_seq_;  // dead worker id -> when it died
};

}  // namespace kiln::master
