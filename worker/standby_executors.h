#pragma once
// StandbyExecutors: a few processes the worker forks ahead of time, each already inside a
// memory cgroup of its own, waiting to become an executor (kiln.worker.standbyExecutors).
// On cgroup v1 moving a process into a cgroup waits for an RCU grace period while holding
// the kernel's cgroup lock (1 to 16 ms on bench/README's machine, and a second launch's
// mkdir waits behind it); a launch that takes a standby only sets its cgroup's limit and
// hands it the program (StandbyChild::Start). The pool refills in the background after
// each Take().
//
// A standby's cgroup is named standby-<n> and keeps that name once it holds an executor
// (the worker logs which executor it holds); a rename would take the lock again.
//
// The standbys and the executors they become die with the thread that forked them
// (PR_SET_PDEATHSIG): the pool's own thread, which lives until Stop(). Stop the pool
// only after the executors. Thread-safe.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/background.h"
#include "common/subprocess.h"
#include "worker/memory_cgroups.h"

namespace kiln::worker {

struct StandbyExecutorsOptions {
  int count = 2;       // standbys kept ready; 0 = none
  std::string helper;  // path of kiln-exec-standby, which each standby runs while it waits
  const MemoryCgroups* cgroups = nullptr;  // required
  std::chrono::milliseconds ready_timeout{10000};
};

class StandbyExecutors {
 public:
  explicit StandbyExecutors(StandbyExecutorsOptions options);
  ~StandbyExecutors();  // Stop()

  void Start();  // forks the first standbys in the background
  // Kills the standbys not taken and removes their cgroups.
  void Stop();

  struct Taken {
    std::unique_ptr<StandbyChild> child;  // ready: in its cgroup, no limit yet
    std::string cgroup;                   // the cgroup's name under MemoryCgroups::parent()
  };
  // A ready standby, if there is one (never waits); the pool then forks a replacement.
  std::optional<Taken> Take();
  // Gives back a standby that could not be started: it is killed and its cgroup removed.
  void Discard(Taken taken);
  int ready() const;
  // Attempts to make a standby that failed since the last success (the pool waits 1, 2,
  // 4 ... 64 s after each).
  int failed_attempts() const;

 private:
  void Refill();
  std::optional<Taken> Make(const std::string& name);

  const StandbyExecutorsOptions options_;
  mutable absl::Mutex mu_;
  std::vector<Taken> ready_ ABSL_GUARDED_BY(mu_);
  int next_id_ ABSL_GUARDED_BY(mu_) = 0;
  int failures_ ABSL_GUARDED_BY(mu_) = 0;  // in a row: the refill backs off
  StopSignal stopping_;
  WorkQueue<int> refills_;  // one item per standby to make; last: stopped first
};

}  // namespace kiln::worker
