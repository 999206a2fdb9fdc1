#pragma once
// EventBus: Spark's LiveListenerBus. The schedulers post events (events.h) from any
// thread, under their own locks: Post only appends to a queue. One thread delivers them
// to every listener in the order posted, so that a slow listener (the event log's disk)
// never holds up scheduling. It wakes for a batch (kBatch events), every kMaxDelay, or
// when someone waits in Flush, never once per event: a wake-up per task start and end
// cost a quarter of the scheduler's throughput. Nothing is dropped: the queue grows
// instead (an event is a few hundred bytes).
//
// The queue is a list of batches: PostAll hands over its vector whole (and gets back an
// empty one with room, from batches already delivered), so that posting costs one lock
// and no move or allocation per event.
//
// Thread-safe.

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "driver/events.h"

namespace kiln::internal {

class EventBus {
 public:
  // A disabled bus (nothing listens: no UI, no doctor, no event log) drops every event
  // at once and starts no thread.
  explicit EventBus(bool enabled = true) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }
  ~EventBus();  // Stop()
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  // Before Start() only. The bus does not own them; they must outlive Stop().
  void AddListener(EventListener* listener);
  void Start();

  // Queues the event; a no-op after Stop(). Events posted before Start() wait for it.
  void Post(Event event);
  // Queues every event of `events`, in order, and leaves it empty: one lock for all of
  // them.
  void PostAll(std::vector<Event>* events);
  // Before Start() only: puts the event before every one queued so far (the
  // application's start, whose id is known only once the backend has started and may
  // have added executors).
  void PostFirst(Event event);
  // Returns once every event posted before the call has been delivered (at once when
  // the bus was never started or is stopped).
  void Flush();
  // Delivers what is queued, then ends the thread. Idempotent.
  void Stop();

 private:
  void Run();

  static constexpr size_t kBatch = 1024;
  static constexpr absl::Duration kMaxDelay = absl::Milliseconds(20);
  // A wake-up delivers a batch per scheduler section: hundreds when tasks are short.
  static constexpr size_t kSpareBatches = 1024;

  const bool enabled_;
  std::vector<EventListener*> listeners_;  // fixed once started
  absl::Mutex mu_;
  absl::CondVar wake_;  // the thread: a batch is ready, someone flushes, or Stop
  std::vector<std::vector<Event>> queue_ ABSL_GUARDED_BY(mu_);  // batches, in order
  std::vector<std::vector<Event>> spare_ ABSL_GUARDED_BY(mu_);  // delivered, emptied
  uint64_t queued_ ABSL_GUARDED_BY(mu_) = 0;                    // events in queue_
  uint64_t posted_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t delivered_ ABSL_GUARDED_BY(mu_) = 0;
  int flushing_ ABSL_GUARDED_BY(mu_) = 0;  // threads waiting in Flush
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace kiln::internal
