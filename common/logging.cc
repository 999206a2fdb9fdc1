#include "common/logging.h"

#include <cstdlib>

#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace kiln {

void InitLogging(const std::string& role, const std::string& level) {
  auto logger = spdlog::stderr_logger_mt(role);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%L%$ %n[%P:%t] %v");
  const char* env = std::getenv("KILN_LOG_LEVEL");
  logger->set_level(spdlog::level::from_str(env != nullptr ? env : level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace kiln
