#pragma once
// An injectable clock, so timeouts can be tested without waiting.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace kiln {

// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() const = 0;
};

class RealClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::now();
  }
  static RealClock* Get() {
    static RealClock clock;
    return &clock;
  }
};

// A clock that only moves when told. Thread-safe.
class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(now_ns_.load()));
  }
  void Advance(std::chrono::nanoseconds d) { now_ns_ += d.count(); }

 private:
  std::atomic<int64_t> now_ns_{1'000'000'000};
};

// Milliseconds since the Unix epoch (wall-clock time, as shown to people and logged).
inline int64_t EpochMillis(
    std::chrono::system_clock::time_point t = std::chrono::system_clock::now()) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Adds the time from its construction to its destruction, in nanoseconds, to `*total`:
// how a task measures what it spent blocked reading or writing, one pair of clock reads
// per buffer or batch (never per record).
class ScopedNanos {
 public:
  explicit ScopedNanos(int64_t* total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~ScopedNanos() {
    *total_ += std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now() - start_)
                   .count();
  }
  ScopedNanos(const ScopedNanos&) = delete;
  ScopedNanos& operator=(const ScopedNanos&) = delete;

 private:
  int64_t* total_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace kiln
