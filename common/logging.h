#pragma once
// Process-wide logging setup: one spdlog logger per process, named for its role
// (master, worker, driver, executor), writing to stderr with time, level, role, pid
// and thread. Call once from main(); libraries log through spdlog's default logger.
//
// Code that must not include spdlog (the operator templates every user program
// compiles) logs already-built lines through Log(); it checks LogEnabled() first so that
// a debug line costs nothing when debug logging is off.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace kiln {

// `level` is one of trace, debug, info, warn, error; KILN_LOG_LEVEL overrides it.
void InitLogging(const std::string& role, const std::string& level = "info");

enum class LogLevel { kDebug, kInfo, kWarn, kError };

bool LogEnabled(LogLevel level);
void Log(LogLevel level, std::string_view message);

// One call site's warnings, at most one per `every` (the others go to debug): a
// condition met by every task of a stage warns once, not once per task. Thread-safe.
class RateLimitedWarning {
 public:
  explicit RateLimitedWarning(std::chrono::seconds every = std::chrono::seconds(10))
      : every_ns_(std::chrono::nanoseconds(every).count()) {}
  void Log(std::string_view message);

 private:
  const int64_t every_ns_;
  std::atomic<int64_t> next_ns_{0};
};

}  // namespace kiln
