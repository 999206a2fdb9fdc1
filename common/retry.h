#pragma once
// Retrying a call that fails for a while (a peer restarting, a port not open yet),
// written once: exponential backoff with full jitter, a limit on the total time, and a
// stop that ends the retrying — and the wait in progress — at once.

#include <chrono>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "common/background.h"

namespace kiln::rpc {

// Exponential backoff with full jitter. Not thread-safe: one per retry loop.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : next_(initial), max_(max) {}
  // The delay before the next attempt; grows after each call.
  std::chrono::milliseconds Next();

 private:
  std::chrono::milliseconds next_;
  std::chrono::milliseconds max_;
};

// UNAVAILABLE or DEADLINE_EXCEEDED: the peer may answer if asked again.
bool IsTransient(const absl::Status& status);

struct RetryOptions {
  std::string what;                    // context of the final error
  std::chrono::milliseconds total{0};  // keep trying this long; 0 = once
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{1000};
  // Once raised, no further attempt starts (the first always runs) and the wait in
  // progress ends. Not owned; may be null.
  const StopSignal* stop = nullptr;
};

// Calls `attempt` (which sets its own per-call deadline) until it returns OK or an error
// that `retryable` refuses, or `total` has passed: returns the last status, with `what`
// as context on an error. When `stop` ends the retrying, CANCELLED with the last error's
// message.
absl::Status RetryUnavailable(
    const RetryOptions& options, const std::function<absl::Status()>& attempt,
    const std::function<bool(const absl::Status&)>& retryable = IsTransient);

}  // namespace kiln::rpc
