#pragma once
// Process-wide logging setup: one spdlog logger per process, named for its role
// (master, worker, driver, executor), writing to stderr with time, level, role, pid
// and thread. Call once from main(); libraries log through spdlog's default logger.

#include <string>

namespace kiln {

// `level` is one of trace, debug, info, warn, error; KILN_LOG_LEVEL overrides it.
void InitLogging(const std::string& role, const std::string& level = "info");

}  // namespace kiln
