#include "common/retry.h"

#include <algorithm>
#include <random>

#include "common/status.h"
#include "common/strings.h"

namespace kiln::rpc {

std::chrono::milliseconds Backoff::Next() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> dist(next_.count() / 2, next_.count());
  std::chrono::milliseconds delay(dist(rng));
  next_ = std::min(max_, next_ * 2);
  return delay;
}

bool IsTransient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

absl::Status RetryUnavailable(const RetryOptions& options,
                              const std::function<absl::Status()>& attempt,
                              const std::function<bool(const absl::Status&)>& retryable) {
  const auto deadline = std::chrono::steady_clock::now() + options.total;
  Backoff backoff(options.initial_backoff, options.max_backoff);
  auto give_up = [&](const absl::Status& status) {
    return options.what.empty() ? status : Annotate(status, options.what);
  };
  // Stopped: CANCELLED, with the last error's message.
  auto stopped = [&](const absl::Status& last) {
    return give_up(absl::CancelledError(StrCat("stopped after: ", last.message())));
  };
  while (true) {
    absl::Status status = attempt();
    if (status.ok() || !retryable(status)) return give_up(status);
    if (options.stop != nullptr && options.stop->raised()) return stopped(status);
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return give_up(status);
    const auto delay = std::min<std::chrono::nanoseconds>(backoff.Next(), deadline - now);
    if (options.stop != nullptr) {
      if (options.stop->WaitFor(delay)) return stopped(status);
    } else {
      absl::SleepFor(absl::FromChrono(delay));
    }
  }
}

}  // namespace kiln::rpc
