#pragma once
// DriverUi: the application's UI, REST API (app_ui.h) and Prometheus /metrics, served by
// the driver while it runs on kiln.ui.port (4040), or the next free port up to 16 above
// it, as Spark's UI does. Read-only, rendered from the driver's AppStatusStore on each
// request. Thread-safe.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http_server.h"
#include "driver/app_status.h"

namespace kiln::internal {

// GET /metrics of a driver: its executors, tasks, shuffle, spill and storage.
std::string RenderDriverMetrics(const AppState& app);

class DriverUi {
 public:
  // `refresh` runs before each request renders: the driver delivers the events posted so
  // far (EventBus::Flush), so that a page shows everything that happened before it was
  // asked for.
  DriverUi(const AppStatusStore* store, std::function<void()> refresh)
      : store_(store), refresh_(std::move(refresh)) {}
  ~DriverUi() { Stop(); }

  // Binds host:port, else the next of `retries` ports above it (port 0: an ephemeral
  // one); the error names the range tried.
  absl::StatusOr<int> Start(const std::string& host, int port, int retries = 16);
  void Stop();

 private:
  void Register(HttpServer* server) const;

  // The store, read after refresh_.
  template <class F>
  auto Read(F&& read) const {
    refresh_();
    return store_->Read(std::forward<F>(read));
  }

  const AppStatusStore* store_;
  const std::function<void()> refresh_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace kiln::internal
