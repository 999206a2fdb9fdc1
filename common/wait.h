#pragma once
// WaitFor: poll a condition with backoff until it holds or a deadline passes — the
// only way Kiln's code and tests wait for something to happen.

#include <chrono>
#include <functional>
#include <thread>

namespace kiln {

// Returns true as soon as `condition` holds, false once `timeout` has passed without.
inline bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto delay = std::chrono::microseconds(200);
  while (true) {
    if (condition()) return true;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(delay, deadline - now));
    delay = std::min(delay * 2, std::chrono::microseconds(50'000));
  }
}

}  // namespace kiln
