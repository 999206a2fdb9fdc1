#include "master/html_view.h"

#include <map>

#include "common/strings.h"
#include "common/units.h"

namespace kiln::master {
namespace {

void Row(std::string* out, const std::vector<std::string>& cells, const char* tag = "td",
         const std::string& last_cell_html = "") {
  StrAppend(out, "<tr>");
  for (const std::string& c : cells) StrAppend(out, "<", tag, ">", HtmlEscape(c), "</", tag, ">");
  if (!last_cell_html.empty()) StrAppend(out, "<", tag, ">", last_cell_html, "</", tag, ">");
  StrAppend(out, "</tr>\n");
}

// http://host:ui-port of each worker, by id.
std::map<std::string, std::string> WorkerPages(const ClusterView& view) {
  std::map<std::string, std::string> out;
  for (const WorkerView& w : view.workers) {
    out[w.id] = StrCat("http://", w.host, ":", w.ui_port);
  }
  return out;
}

// The applications of `apps` for which `keep` holds; `waiting` adds why they wait.
template <class Keep>
void AppTable(std::string* out, const char* title, const std::vector<AppView>& apps, Keep keep,
              bool waiting = false) {
  std::string rows;
  size_t n = 0;
  for (const AppView& a : apps) {
    if (!keep(a)) continue;
    ++n;
    std::vector<std::string> cells = {a.id,
                                      a.name,
                                      StrCat(a.cores),
                                      a.max_cores > 0 ? StrCat(a.max_cores) : "none",
                                      FormatMib(a.memory_per_executor_mb),
                                      StrCat(a.executors.size()),
                                      a.state,
                                      FormatMillis(a.duration_ms)};
    if (waiting) cells.push_back(a.waiting_reason);
    // The driver's UI while the application runs; kiln-history's once it ended.
    const std::string href = a.ui_url.ends_with("/jobs") ? a.ui_url : a.ui_url + "/";
    Row(&rows, cells, "td",
        a.ui_url.empty()
            ? " "
            : StrCat("<a href=\"", HtmlEscape(href), "\">", HtmlEscape(a.ui_url), "</a>"));
  }
  StrAppend(out, "<h2>", title, " (", n, ")</h2>\n<table>\n");
  std::vector<std::string> head = {"Application ID",      "Name",      "Cores", "Cores Cap",
                                   "Memory per Executor", "Executors", "State", "Duration"};
  if (waiting) head.push_back("Waiting Because");
  head.push_back("Application UI");
  Row(out, head, "th");
  StrAppend(out, rows, "</table>\n");
}

// The Logs cell links to the driver's stdout and stderr on the worker that runs or ran it.
void DriverTable(std::string* out, const char* title, const std::vector<DriverView>& drivers,
                 const std::map<std::string, std::string>& worker_pages) {
  StrAppend(out, "<h2>", title, " (", drivers.size(), ")</h2>\n<table>\n");
  Row(out,
      {"Driver ID", "Name", "Worker", "State", "Cores", "Memory", "Application", "Relaunches",
       "Duration", "Message", "Logs"},
      "th");
  for (const DriverView& d : drivers) {
    std::string logs = "-";
    if (auto page = worker_pages.find(d.worker_id); page != worker_pages.end()) {
      const std::string base = HtmlEscape(StrCat(page->second, "/logs/", d.id, "/"));
      logs =
          StrCat("<a href=\"", base, "stdout\">stdout</a> <a href=\"", base, "stderr\">stderr</a>");
    }
    Row(out,
        {d.id, d.name, d.worker_id.empty() ? "-" : d.worker_id, d.state, StrCat(d.cores),
         FormatMib(d.memory_mb), d.app_id.empty() ? "-" : d.app_id,
         d.supervise ? StrCat(d.relaunches) : "not supervised", FormatMillis(d.duration_ms),
         d.message},
        "td", logs);
  }
  StrAppend(out, "</table>\n");
}

}  // namespace

std::string RenderHtml(const ClusterView& view) {
  std::string out =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Kiln Master</title>\n"
      "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}</style></head><body>\n";
  int alive = 0;
  for (const WorkerView& w : view.workers) alive += w.state == "ALIVE" ? 1 : 0;
  int waiting = 0;
  for (const AppView& a : view.active_apps) waiting += a.waiting_reason.empty() ? 0 : 1;
  StrAppend(&out, "<h1>Kiln Master at ", HtmlEscape(view.url), "</h1>\n<ul>\n",
            "<li>Alive workers: ", alive, "</li>\n", "<li>Cores in use: ", view.cores, " total, ",
            view.cores_used, " used</li>\n",
            "<li>Memory in use: ", HtmlEscape(FormatMib(view.memory_mb)), " total, ",
            HtmlEscape(FormatMib(view.memory_used_mb)), " used</li>\n",
            "<li>Applications: ", view.active_apps.size() - waiting, " running, ", waiting,
            " waiting, ", view.completed_apps.size(), " completed</li>\n</ul>\n");
  StrAppend(&out, "<h2>Workers (", view.workers.size(), ")</h2>\n<table>\n");
  const std::map<std::string, std::string> worker_pages = WorkerPages(view);
  Row(&out, {"Worker ID", "Address", "State", "Cores", "Memory", "Page"}, "th");
  for (const WorkerView& w : view.workers) {
    const std::string page = HtmlEscape(worker_pages.at(w.id));
    Row(&out,
        {w.id, StrCat(w.host, ":", w.port), w.state, StrCat(w.cores, " (", w.cores_used, " used)"),
         StrCat(FormatMib(w.memory_mb), " (", FormatMib(w.memory_used_mb), " used)")},
        "td", StrCat("<a href=\"", page, "/\">", page, "</a>"));
  }
  StrAppend(&out, "</table>\n");
  auto is_waiting = [](const AppView& a) { return !a.waiting_reason.empty(); };
  AppTable(&out, "Running Applications", view.active_apps,
           [&](const AppView& a) { return !is_waiting(a); });
  AppTable(&out, "Waiting Applications", view.active_apps, is_waiting, /*waiting=*/true);
  AppTable(&out, "Completed Applications", view.completed_apps,
           [](const AppView&) { return true; });
  DriverTable(&out, "Running Drivers", view.active_drivers, worker_pages);
  DriverTable(&out, "Completed Drivers", view.completed_drivers, worker_pages);
  StrAppend(&out, "<p><a href=\"/json\">JSON</a></p>\n</body></html>\n");
  return out;
}

}  // namespace kiln::master
