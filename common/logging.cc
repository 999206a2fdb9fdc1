#include "common/logging.h"

#include <cstdlib>

#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace kiln {
namespace {

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void InitLogging(const std::string& role, const std::string& level) {
  auto logger = spdlog::stderr_logger_mt(role);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%L%$ %n[%P:%t] %v");
  const char* env = std::getenv("KILN_LOG_LEVEL");
  logger->set_level(spdlog::level::from_str(env != nullptr ? env : level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

bool LogEnabled(LogLevel level) { return spdlog::should_log(ToSpdlog(level)); }

void Log(LogLevel level, std::string_view message) { spdlog::log(ToSpdlog(level), "{}", message); }

void RateLimitedWarning::Log(std::string_view message) {
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t next = next_ns_.load();
  const bool warn = now >= next && next_ns_.compare_exchange_strong(next, now + every_ns_);
  kiln::Log(warn ? LogLevel::kWarn : LogLevel::kDebug, message);
}

}  // namespace kiln
