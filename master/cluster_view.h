#pragma once
// ClusterView: a copy of the master's state taken at one instant (Master::Snapshot), for
// the web UI and /json. A plain value: safe to read on any thread once taken.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/clock.h"  // EpochMillis, the views' unit of time

namespace kiln::master {

struct WorkerView {
  std::string id;
  std::string host;
  int port = 0;
  int ui_port = 0;
  std::string state;  // "ALIVE" | "DEAD"
  int cores = 0;
  int cores_used = 0;
  int64_t memory_mb = 0;
  int64_t memory_used_mb = 0;
  int64_t last_heartbeat_ms = 0;  // milliseconds since the Unix epoch
};

struct ExecutorView {
  int id = 0;
  std::string worker_id;
  int cores = 0;
  int64_t memory_mb = 0;
};

struct AppView {
  std::string id;
  std::string name;
  int cores = 0;  // granted now (active) or when it ended (completed)
  int64_t memory_per_executor_mb = 0;
  int max_cores = 0;        // kiln.cores.max of its driver; 0 = none set
  int executor_limit = -1;  // dynamic allocation: executors its driver asks for; -1 = no limit
  std::string state;        // WAITING | RUNNING | FINISHED | FAILED | KILLED
  // Active and holding no executor: why (Master::ApplicationHeartbeat's waiting_reason).
  std::string waiting_reason;
  std::vector<ExecutorView> executors;  // live (active) or at its end (completed)
  int64_t start_ms = 0;                 // milliseconds since the Unix epoch
  int64_t duration_ms = 0;              // until now (active) or until it ended (completed)
  std::string ui_url;                   // of its driver's UI (active); "" for none
};

// A driver run by the cluster (cluster deploy mode).
struct DriverView {
  std::string id;
  std::string name;
  std::string state;      // SUBMITTED | RUNNING | RELAUNCHING | FINISHED | FAILED | KILLED | ERROR
  std::string worker_id;  // where it runs or last ran; empty before its first launch
  std::string worker_address;  // host:port of that worker
  std::string app_id;          // the application it registered, once it has
  std::string message;         // why it failed, was killed or relaunches
  int exit_code = 0;           // of its last run, when `exited`
  bool exited = false;
  int relaunches = 0;
  bool supervise = false;
  int cores = 0;
  int64_t memory_mb = 0;
  int64_t submit_ms = 0;    // milliseconds since the Unix epoch
  int64_t duration_ms = 0;  // until now (active) or until it ended
};

// Counts since the master started (GET /metrics).
struct MasterCounters {
  int64_t executors_launched = 0;
  int64_t executors_failed = 0;
  std::map<std::string, int64_t> apps_ended;     // by final state
  std::map<std::string, int64_t> drivers_ended;  // by final state
};

struct ClusterView {
  std::string url;               // kiln://host:port; filled in by whoever knows the bound address
  std::string status = "ALIVE";  // RECOVERING while workers restored from disk are UNKNOWN
  std::vector<WorkerView> workers;  // ALIVE and DEAD, by id
  // Totals over ALIVE workers.
  int cores = 0;
  int cores_used = 0;
  int64_t memory_mb = 0;
  int64_t memory_used_mb = 0;
  std::vector<AppView> active_apps;           // registration order
  std::vector<AppView> completed_apps;        // most recent last
  std::vector<DriverView> active_drivers;     // submission order
  std::vector<DriverView> completed_drivers;  // most recent last
  MasterCounters counters;
};

}  // namespace kiln::master
