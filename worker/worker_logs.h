#pragma once
// GET /logs/... of a worker: the stdout and stderr of its executors and drivers, so that
// the worker's page (and the master's, through it) can link to them:
//
//   /logs/<app-id>/executor-<n>/<file>    an executor's, while its directory exists
//   /logs/<driver-id>/<file>              a driver's (cluster deploy mode)
//
// <file> is stdout or stderr, or stdout.<n>/stderr.<n> (a relaunched driver's earlier
// runs). Every part of the path is checked against those shapes before anything is
// opened (no "..", no other file of the work dir), and the file is opened without
// following a symbolic link. A file longer than kMaxLogBytes is served from its end,
// after a line saying how much is left out. A pure function of the work dir and the
// path: thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/http_server.h"

namespace kiln::worker {

inline constexpr int64_t kMaxLogBytes = 1 << 20;

// `rest`: the path after "/logs/".
HttpResponse ServeLog(const std::string& work_dir, std::string_view rest);

// The page's links to an executor's or a driver's stdout and stderr.
std::string ExecutorLogLinks(const std::string& app_id, int executor_id);
std::string DriverLogLinks(const std::string& driver_id);

}  // namespace kiln::worker
