#pragma once
// HistoryServer: Spark's history server. Serves the UI and REST API of app_ui.h for every
// application whose event log (event_log.h) is in a directory: finished ones, those still
// running (their .inprogress log) and those cut short by a crash. The directory is looked
// at again when a request comes and `update_interval` has passed since the last look; a
// log whose size or time changed is read again.
//
//   /                                   the applications, newest first
//   /history/<app-id>/<page>            an application's pages (jobs, stages, ...)
//   /api/v1/applications[/<app-id>/...] the REST API over all of them
//
// Handlers run on the HTTP server's one thread: not otherwise thread-safe.

#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/http_server.h"
#include "driver/app_status.h"

namespace kiln::internal {

class HistoryServer {
 public:
  HistoryServer(std::string dir, std::chrono::milliseconds update_interval)
      : dir_(std::move(dir)), update_interval_(update_interval) {}

  // Reads the directory (an error names it when it cannot be listed) and serves on
  // host:port (0 = ephemeral); returns the port.
  absl::StatusOr<int> Start(const std::string& host, int port);
  void Stop() { server_.Stop(); }
  // The applications read so far.
  size_t size() const { return logs_.size(); }

 private:
  struct Log {
    int64_t size = -1;
    std::time_t mtime = 0;
    std::string path;
    std::unique_ptr<AppStatusStore> store;
    std::string error;  // why it could not be read, shown on the list
  };

  // Reads the logs that are new or changed since the last look.
  absl::Status Refresh();
  void RefreshIfDue();
  HttpResponse ListPage();
  HttpResponse AppPage(std::string_view rest);
  HttpResponse Api(std::string_view rest);
  HttpResponse ApplicationsApi();

  const std::string dir_;
  const std::chrono::milliseconds update_interval_;
  std::chrono::steady_clock::time_point last_refresh_{};
  std::map<std::string, Log> logs_;  // by application id (the file name less .inprogress)
  HttpServer server_;
};

}  // namespace kiln::internal
