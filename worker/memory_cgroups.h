#pragma once
// MemoryCgroups: hard memory limits for executors through the kernel's memory cgroup
// controller, v1 or v2, in the cgroup the worker itself runs in (delegation, as systemd
// and container runtimes grant it).
//
// Layout: <worker's cgroup>/kiln-executors-<worker pid>/<name>, one cgroup per executor
// (<app>-executor-<id>, or standby-<n> for one started in a StandbyExecutors process),
// with memory.limit_in_bytes (v1; memory.memsw.limit_in_bytes too where the kernel
// accounts swap) or memory.max and memory.swap.max = 0 (v2). The executor joins its
// cgroup between fork and execve (SpawnOptions::cgroup_procs), so none of its memory is
// charged elsewhere. The kernel then reclaims page cache first and kills the executor
// only when what it really holds reaches the limit; Usage() says whether it did (its
// OOM-kill counter) and the peak charge.
//
// On cgroup v2 a cgroup with processes cannot hand controllers to children: when the
// worker's cgroup does not yet delegate `memory`, Open() moves the worker into a leaf
// <worker's cgroup>/kiln-worker-<pid> and enables the controller in its old cgroup.
//
// Open() removes the kiln-executors-<pid> cgroups of workers that are gone (their
// processes have exited, so the kernel lets them go). The destructor removes this
// worker's. Thread-safe (the kernel serializes; the object holds no mutable state).

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace kiln::worker {

// Where the kernel describes this process's cgroups; tests point these at fakes.
struct CgroupSources {
  std::string self_cgroup = "/proc/self/cgroup";
  std::string mountinfo = "/proc/self/mountinfo";
  pid_t pid = 0;  // 0 = getpid()
};

struct CgroupUsage {
  int64_t peak_bytes = 0;  // the largest charge seen (v1; v2 from kernel 5.19), 0 if unknown
  int64_t oom_kills = 0;   // processes the kernel killed at the limit
};

class MemoryCgroups {
 public:
  // Finds the memory controller of this process and makes the executors' parent cgroup.
  // FailedPrecondition (saying what is missing: no controller, read-only hierarchy, no
  // permission) when the worker cannot limit executors this way.
  static absl::StatusOr<std::unique_ptr<MemoryCgroups>> Open(const CgroupSources& sources = {});
  ~MemoryCgroups();
  MemoryCgroups(const MemoryCgroups&) = delete;
  MemoryCgroups& operator=(const MemoryCgroups&) = delete;

  int version() const { return version_; }  // 1 or 2
  const std::string& parent() const { return parent_; }

  // Makes the cgroup `name` (a safe path component) limited to `limit_bytes` (0: not
  // yet limited), and returns the path of its cgroup.procs (for
  // SpawnOptions::cgroup_procs). A cgroup left by an earlier one of the same name is
  // replaced.
  absl::StatusOr<std::string> Create(const std::string& name, int64_t limit_bytes) const;
  // Limits the cgroup `name` to `limit_bytes` of memory, swap excluded.
  absl::Status SetLimit(const std::string& name, int64_t limit_bytes) const;
  CgroupUsage Usage(const std::string& name) const;
  // Removes the cgroup once its processes have exited.
  absl::Status Remove(const std::string& name) const;

 private:
  MemoryCgroups(int version, std::string parent) : version_(version), parent_(std::move(parent)) {}
  const int version_;
  const std::string parent_;  // .../kiln-executors-<pid>
};

// Parsed for tests: the directory of this process's cgroup in the memory hierarchy (v1)
// or the unified one (v2), from /proc/self/cgroup and /proc/self/mountinfo text.
struct CgroupLocation {
  int version = 0;
  std::string dir;
};
absl::StatusOr<CgroupLocation> FindMemoryCgroup(const std::string& self_cgroup,
                                                const std::string& mountinfo);

}  // namespace kiln::worker
