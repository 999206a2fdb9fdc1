#pragma once
// An application's UI pages and REST API, rendered from its status (app_status.h): by the
// driver while it runs (driver_ui.h) and by kiln-history from event logs once it ended.
//
// Pages (plain server-rendered HTML, no script, no external asset), under `base` ("" on
// the driver, "/history/<app-id>" on kiln-history):
//   /jobs (also /), /stages, /stages/<id>/<attempt> (task table, percentiles, timeline),
//   /storage, /executors, /environment, /doctor (the job doctor's findings).
// REST API, in Spark's JSON shapes (field names, units, time format) so that tools written
// for Spark's /api/v1 work: /api/v1/applications, and under
// /api/v1/applications/<app-id>: /jobs, /jobs/<id>, /stages, /stages/<id>,
// /stages/<id>/<attempt>, /stages/<id>/<attempt>/taskList, /executors, /allexecutors,
// /storage/rdd, /environment.

#include <string>
#include <string_view>
#include <vector>

#include "common/http_server.h"
#include "driver/app_status.h"

namespace kiln::internal {

struct AppUiOptions {
  std::string base;  // where the pages live: "" or "/history/<app-id>"
  std::string home;  // a link back (kiln-history's list), "" for none
};

// The page at `path` (below options.base: "", "/jobs", "/stages/3/0", ...); 404 for an
// unknown one.
HttpResponse RenderAppPage(const AppState& app, const AppUiOptions& options, std::string_view path);

// The REST answer at `path` below /api/v1/applications/<app-id> ("/jobs",
// "/stages/3/0/taskList", ...); 404 naming the path for an unknown one.
HttpResponse RenderAppApi(const AppState& app, std::string_view path);

// /api/v1/applications: one entry per application.
std::string ApplicationsJson(const std::vector<const AppState*>& apps);

// "2026-12-04 01:43:25" (UTC), the pages' time.
std::string FormatUiTime(int64_t epoch_ms);

// A plain-text answer (a 404 naming what is missing).
HttpResponse TextResponse(int status, std::string body);

// Splits "/api/v1/applications/<id>/rest" into <id> and "/rest"; false when it does not
// start so.
bool SplitApiPath(std::string_view path, std::string* app_id, std::string* rest);

}  // namespace kiln::internal
