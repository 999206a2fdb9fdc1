#include "driver/history_server.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "absl/time/time.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/units.h"
#include "driver/app_ui.h"
#include "driver/event_log.h"

namespace kiln::internal {
namespace {

constexpr std::string_view kInProgress = ".inprogress";
constexpr std::string_view kHistory = "/history/";

// Everything a log holds: no retention limit when replaying.
constexpr AppStatusLimits kUnlimited{
    .retained_jobs = INT32_MAX, .retained_stages = INT32_MAX, .retained_tasks = INT32_MAX};

}  // namespace

absl::StatusOr<int> HistoryServer::Start(const std::string& host, int port) {
  RETURN_IF_ERROR(Refresh());
  last_refresh_ = std::chrono::steady_clock::now();
  server_.Get("/", [this] {
    RefreshIfDue();
    return ListPage();
  });
  server_.GetUnder(std::string(kHistory), [this](std::string_view rest) {
    RefreshIfDue();
    return AppPage(rest);
  });
  server_.Get("/api/v1/applications", [this] {
    RefreshIfDue();
    return ApplicationsApi();
  });
  server_.GetUnder("/api/v1/applications/", [this](std::string_view rest) {
    RefreshIfDue();
    return Api(rest);
  });
  return server_.Start(host, port);
}

void HistoryServer::RefreshIfDue() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_refresh_ < update_interval_) return;
  last_refresh_ = now;
  Refresh().IgnoreError();  // a directory gone for a moment: serve what was read
}

absl::Status HistoryServer::Refresh() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  if (ec) return absl::NotFoundError(StrCat("cannot list ", dir_, ": ", ec.message()));
  for (const fs::directory_entry& entry : it) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(".") || !entry.is_regular_file(ec)) continue;
    const bool in_progress = name.ends_with(kInProgress);
    const std::string id = in_progress ? name.substr(0, name.size() - kInProgress.size()) : name;
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) != 0) continue;
    Log& log = logs_[id];
    // The finished log wins over a leftover .inprogress of the same application.
    if (in_progress && !log.path.empty() && !log.path.ends_with(kInProgress)) continue;
    if (log.path == entry.path().string() && log.size == st.st_size && log.mtime == st.st_mtime) {
      continue;
    }
    log.path = entry.path().string();
    log.size = st.st_size;
    log.mtime = st.st_mtime;
    log.error.clear();
    log.store = std::make_unique<AppStatusStore>(kUnlimited);
    absl::StatusOr<EventLogContents> contents = ReadEventLog(log.path);
    if (!contents.ok()) {
      log.error = std::string(View(contents.status().message()));
      continue;
    }
    for (const Event& e : contents->events) log.store->OnEvent(e);
    if (!log.store->Read([](const AppState& app) { return app.app.has_value(); })) {
      log.error = "not an event log: it has no ApplicationStart";
    }
  }
  return absl::OkStatus();
}

HttpResponse HistoryServer::ListPage() {
  std::string rows;
  struct Item {
    int64_t start = 0;
    std::string row;
  };
  std::vector<Item> items;
  for (const auto& [id, log] : logs_) {
    if (!log.error.empty()) {
      items.push_back({0, StrCat("<tr><td>", HtmlEscape(id), "</td><td colspan=\"5\">",
                                 HtmlEscape(log.error), "</td></tr>\n")});
      continue;
    }
    const std::string link = HtmlEscape(id);  // a structured binding cannot be captured
    items.push_back(log.store->Read([&](const AppState& app) {
      const int64_t start = app.app->time_ms;
      const std::string state =
          app.end ? app.end->final_state : "not ended (running, or cut short)";
      return Item{
          start,
          StrCat("<tr><td><a href=\"", kHistory, link, "/jobs\">", link, "</a></td><td>",
                 HtmlEscape(app.app->app_name), "</td><td>", FormatUiTime(start), "</td><td>",
                 app.end ? FormatMillis(app.end->time_ms - start) : "", "</td><td>",
                 HtmlEscape(app.app->user), "</td><td>", HtmlEscape(state), "</td></tr>\n")};
    }));
  }
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return a.start > b.start; });
  for (const Item& i : items) rows += i.row;
  return HttpResponse{
      .content_type = "text/html; charset=utf-8",
      .body =
          StrCat("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Kiln history</title>"
                 "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
                 "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}</style></head>"
                 "<body>\n<h1>Kiln history</h1>\n<p>",
                 logs_.size(), " application(s) in ", HtmlEscape(dir_),
                 "</p>\n<table>\n<tr><th>Application ID</th><th>Name</th><th>Started</th>"
                 "<th>Duration</th><th>User</th><th>State</th></tr>\n",
                 rows, "</table>\n</body></html>\n")};
}

HttpResponse HistoryServer::AppPage(std::string_view rest) {
  const size_t slash = rest.find('/');
  const std::string id(rest.substr(0, slash));
  auto it = logs_.find(id);
  if (it == logs_.end() || !it->second.error.empty()) {
    return TextResponse(404, StrCat("no application ", id, " in ", dir_, "\n"));
  }
  const std::string page(slash == std::string_view::npos ? "" : rest.substr(slash));
  const AppUiOptions options{.base = StrCat(kHistory, id), .home = "/"};
  return it->second.store->Read(
      [&](const AppState& app) { return RenderAppPage(app, options, page); });
}

HttpResponse HistoryServer::ApplicationsApi() {
  std::vector<const AppState*> apps;
  // The stores are not written while this runs (one thread): reading their state
  // through a pointer taken under their lock is safe here.
  for (const auto& [id, log] : logs_) {
    if (log.error.empty())
      apps.push_back(log.store->Read([](const AppState& app) { return &app; }));
  }
  std::sort(apps.begin(), apps.end(),
            [](const AppState* a, const AppState* b) { return a->app->time_ms > b->app->time_ms; });
  return HttpResponse{.body = ApplicationsJson(apps)};
}

HttpResponse HistoryServer::Api(std::string_view rest) {
  std::string id, path;
  if (!SplitApiPath(StrCat("/api/v1/applications/", rest), &id, &path)) {
    return TextResponse(404, "no application named\n");
  }
  auto it = logs_.find(id);
  if (it == logs_.end() || !it->second.error.empty()) {
    return TextResponse(404, StrCat("no such application: ", id, "\n"));
  }
  return it->second.store->Read([&](const AppState& app) { return RenderAppApi(app, path); });
}

}  // namespace kiln::internal
