#include "driver/driver_ui.h"

#include "common/metrics_text.h"
#include "common/strings.h"
#include "driver/app_ui.h"

namespace kiln::internal {

std::string RenderDriverMetrics(const AppState& app) {
  MetricsText out;
  const runtime::TaskMetrics& m = app.totals;
  out.Family("kiln_driver_info", "gauge", "The application this driver runs (always 1).");
  if (app.app) {
    out.Sample("kiln_driver_info", {{"app_id", app.app->app_id}, {"app_name", app.app->app_name}},
               1);
  }
  int active = 0, removed = 0;
  for (const auto& [id, e] : app.executors) (e.active ? active : removed) += 1;
  out.Family("kiln_driver_executors", "gauge", "Executors of the application, by state.");
  out.Sample("kiln_driver_executors", {{"state", "active"}}, active);
  out.Sample("kiln_driver_executors", {{"state", "removed"}}, removed);
  out.Gauge("kiln_driver_executor_cores", "Cores of the active executors.", app.ActiveCores());
  int jobs[3] = {0, 0, 0};
  for (const auto& [id, j] : app.jobs)
    ++jobs[j.status == "RUNNING" ? 0 : j.status == "SUCCEEDED" ? 1 : 2];
  out.Family("kiln_driver_jobs", "gauge",
             "Jobs the driver remembers (kiln.ui.retainedJobs), by status.");
  out.Sample("kiln_driver_jobs", {{"status", "running"}}, jobs[0]);
  out.Sample("kiln_driver_jobs", {{"status", "succeeded"}}, jobs[1]);
  out.Sample("kiln_driver_jobs", {{"status", "failed"}}, jobs[2]);
  out.Gauge("kiln_driver_tasks_running", "Task attempts running now.",
            static_cast<double>(app.tasks_running));
  out.Family("kiln_driver_tasks_total", "counter", "Task attempts that ended, by how.");
  out.Sample("kiln_driver_tasks_total", {{"state", "succeeded"}},
             static_cast<double>(app.tasks_succeeded));
  out.Sample("kiln_driver_tasks_total", {{"state", "failed"}},
             static_cast<double>(app.tasks_failed));
  out.Sample("kiln_driver_tasks_total", {{"state", "killed"}},
             static_cast<double>(app.tasks_killed));
  out.Counter("kiln_driver_task_run_seconds_total", "Run time of the succeeded attempts.",
              static_cast<double>(m.run_nanos) / 1e9);
  out.Counter("kiln_driver_input_bytes_total", "Input bytes read by succeeded attempts.",
              static_cast<double>(m.input_bytes));
  out.Counter("kiln_driver_output_bytes_total", "Output bytes written by succeeded attempts.",
              static_cast<double>(m.output_bytes));
  out.Counter("kiln_driver_shuffle_written_bytes_total",
              "Shuffle bytes written by succeeded attempts.",
              static_cast<double>(m.shuffle_bytes_written));
  out.Family("kiln_driver_shuffle_read_bytes_total", "counter",
             "Shuffle bytes read by succeeded attempts, from the local disk or other workers.");
  out.Sample("kiln_driver_shuffle_read_bytes_total", {{"source", "local"}},
             static_cast<double>(m.shuffle_local_bytes));
  out.Sample("kiln_driver_shuffle_read_bytes_total", {{"source", "remote"}},
             static_cast<double>(m.shuffle_remote_bytes));
  out.Counter("kiln_driver_shuffle_fetch_wait_seconds_total",
              "Time succeeded attempts waited for shuffle blocks.",
              static_cast<double>(m.fetch_wait_nanos) / 1e9);
  out.Family("kiln_driver_spill_bytes_total", "counter",
             "Bytes spilled by succeeded attempts: their size in memory, and on disk.");
  out.Sample("kiln_driver_spill_bytes_total", {{"where", "memory"}},
             static_cast<double>(m.memory_bytes_spilled));
  out.Sample("kiln_driver_spill_bytes_total", {{"where", "disk"}},
             static_cast<double>(m.disk_bytes_spilled));
  int64_t memory = 0, disk = 0;
  for (const auto& [key, b] : app.blocks) (b.disk ? disk : memory) += b.bytes;
  out.Family("kiln_driver_storage_bytes", "gauge", "Bytes of cached partitions on the executors.");
  out.Sample("kiln_driver_storage_bytes", {{"where", "memory"}}, static_cast<double>(memory));
  out.Sample("kiln_driver_storage_bytes", {{"where", "disk"}}, static_cast<double>(disk));
  return out.text();
}

void DriverUi::Register(HttpServer* server) const {
  const DriverUi* ui = this;
  auto page = [ui](std::string path) {
    return ui->Read([&](const AppState& app) { return RenderAppPage(app, AppUiOptions{}, path); });
  };
  for (const char* path :
       {"/", "/jobs", "/stages", "/storage", "/executors", "/environment", "/doctor"}) {
    server->Get(path, [page, path] { return page(path); });
  }
  server->GetUnder("/jobs/",
                   [page](std::string_view rest) { return page(StrCat("/jobs/", rest)); });
  server->GetUnder("/stages/",
                   [page](std::string_view rest) { return page(StrCat("/stages/", rest)); });
  server->Get("/metrics", [ui] {
    return HttpResponse{
        .content_type = std::string(kMetricsContentType),
        .body = ui->Read([](const AppState& app) { return RenderDriverMetrics(app); })};
  });
  server->Get("/api/v1/applications", [ui] {
    return HttpResponse{.body = ui->Read([](const AppState& app) {
      return ApplicationsJson(std::vector<const AppState*>{&app});
    })};
  });
  server->GetUnder("/api/v1/applications/", [ui](std::string_view rest) {
    return ui->Read([&](const AppState& app) {
      std::string id, path;
      if (!SplitApiPath(StrCat("/api/v1/applications/", rest), &id, &path) || !app.app ||
          id != app.app->app_id) {
        return HttpResponse{.status = 404,
                            .content_type = "text/plain; charset=utf-8",
                            .body = StrCat("no such application: ", id, "\n")};
      }
      return RenderAppApi(app, path);
    });
  });
}

absl::StatusOr<int> DriverUi::Start(const std::string& host, int port, int retries) {
  absl::Status last;
  const int tries = port == 0 ? 1 : retries + 1;
  for (int i = 0; i < tries && port + i <= 65535; ++i) {
    auto server = std::make_unique<HttpServer>();
    Register(server.get());
    absl::StatusOr<int> bound = server->Start(host, port == 0 ? 0 : port + i);
    if (bound.ok()) {
      server_ = std::move(server);
      return *bound;
    }
    last = bound.status();
  }
  return absl::UnavailableError(StrCat("no free port for the application UI in ", port, "-",
                                       port + tries - 1,
                                       " (kiln.ui.port): ", View(last.message())));
}

void DriverUi::Stop() {
  if (server_) server_->Stop();
}

}  // namespace kiln::internal
