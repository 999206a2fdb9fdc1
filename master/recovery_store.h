#pragma once
// RecoveryStore: kiln.deploy.recoveryMode=FILESYSTEM. The master's durable state — its
// workers, active applications (ids, tokens, what each asked for) and the drivers it
// runs (what was submitted, where each runs) — as one JSON file
// in kiln.deploy.recoveryDirectory, replaced atomically (written aside, fsynced,
// renamed, directory fsynced) after every change. Executors are not stored: after a
// restart the workers report them again. Thread-compatible (the Master calls it under
// its lock).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "master/application_registry.h"
#include "master/driver_registry.h"

namespace kiln::master {

struct PersistedWorker {
  std::string id;
  std::string host;
  int port = 0;
  int ui_port = 0;
  int cores = 0;
  int64_t memory_mb = 0;
  std::string token;
};

struct PersistedApp {
  std::string id;
  std::string token;
  ApplicationRequest request;
  int64_t start_ms = 0;  // since the Unix epoch
  int next_executor_id = 0;
};

// A driver of cluster deploy mode that has not ended.
struct PersistedDriver {
  std::string id;
  DriverRequest request;
  std::string state;      // SUBMITTED | RUNNING | RELAUNCHING
  std::string worker_id;  // where it runs (RUNNING) or last ran
  int launches = 0;
  int relaunches = 0;
  std::string app_id;
  int64_t submit_ms = 0;  // since the Unix epoch
};

struct PersistedState {
  std::vector<PersistedWorker> workers;
  std::vector<PersistedApp> apps;
  std::vector<PersistedDriver> drivers;
};

std::string EncodeState(const PersistedState& state);
// An error naming the file's problem (not JSON, a field of the wrong type).
absl::StatusOr<PersistedState> DecodeState(const std::string& text);

class RecoveryStore {
 public:
  explicit RecoveryStore(const std::string& dir) : path_(dir + "/master-state.json") {}
  const std::string& path() const { return path_; }
  // The stored state; empty when there is none yet.
  absl::StatusOr<PersistedState> Load() const;
  // Replaces the stored state (skipped when it is what was last written).
  absl::Status Save(const PersistedState& state);

 private:
  const std::string path_;
  std::string last_written_;
};

}  // namespace kiln::master
