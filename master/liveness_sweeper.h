#pragma once
// LivenessSweeper: the master's background loop that ends what has gone silent — workers
// past kiln.worker.timeout without a heartbeat, applications whose driver has been silent
// past kiln.app.timeout — and resumes launches whose backoff ended. It owns the timeouts
// and the clock; the target owns the state.
//
// Thread-safe. Start() once; Stop() returns promptly (it wakes the loop) and is called by
// the destructor. SweepOnce() may be called directly (tests do, with a FakeClock).

#include <chrono>

#include "common/background.h"
#include "common/clock.h"

namespace kiln::master {

// What the sweeper acts on (the Master). Called without the sweeper's lock held.
class LivenessTarget {
 public:
  virtual ~LivenessTarget() = default;
  // Declares DEAD every ALIVE worker whose last heartbeat is before `cutoff`.
  virtual void ExpireWorkers(std::chrono::steady_clock::time_point cutoff) = 0;
  // Ends every active application whose last heartbeat is before `cutoff`.
  virtual void ExpireApplications(std::chrono::steady_clock::time_point cutoff) = 0;
  // Places the executors of applications whose launch backoff ended by `now`.
  virtual void ResumeLaunches(std::chrono::steady_clock::time_point now) = 0;
};

struct LivenessOptions {
  std::chrono::milliseconds worker_timeout{60000};  // kiln.worker.timeout
  std::chrono::milliseconds app_timeout{60000};     // kiln.app.timeout
  // Time between sweeps; 0 = a quarter of the shorter timeout, within [10ms, 1s].
  std::chrono::milliseconds interval{0};
  const Clock* clock = RealClock::Get();  // not owned
};

class LivenessSweeper {
 public:
  LivenessSweeper(LivenessOptions options, LivenessTarget* target);  // target not owned

  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }
  void SweepOnce();

  std::chrono::milliseconds interval() const { return interval_; }

 private:
  const LivenessOptions options_;
  const std::chrono::milliseconds interval_;
  LivenessTarget* const target_;
  PeriodicThread loop_;
};

}  // namespace kiln::master
