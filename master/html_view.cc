#include "master/html_view.h"

#include "common/strings.h"
#include "common/units.h"

namespace kiln::master {
namespace {

void Row(std::string* out, const std::vector<std::string>& cells, const char* tag = "td") {
  StrAppend(out, "<tr>");
  for (const std::string& c : cells) StrAppend(out, "<", tag, ">", HtmlEscape(c), "</", tag, ">");
  StrAppend(out, "</tr>\n");
}

void AppTable(std::string* out, const char* title, const std::vector<AppView>& apps) {
  StrAppend(out, "<h2>", title, " (", apps.size(), ")</h2>\n<table>\n");
  Row(out,
      {"Application ID", "Name", "Cores", "Memory per Executor", "Executors", "State", "Duration"},
      "th");
  for (const AppView& a : apps) {
    Row(out, {a.id, a.name, StrCat(a.cores), FormatMib(a.memory_per_executor_mb),
              StrCat(a.executors.size()), a.state, FormatMillis(a.duration_ms)});
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
  StrAppend(&out, "<h1>Kiln Master at ", HtmlEscape(view.url), "</h1>\n<ul>\n",
            "<li>Alive workers: ", alive, "</li>\n", "<li>Cores in use: ", view.cores, " total, ",
            view.cores_used, " used</li>\n",
            "<li>Memory in use: ", HtmlEscape(FormatMib(view.memory_mb)), " total, ",
            HtmlEscape(FormatMib(view.memory_used_mb)), " used</li>\n",
            "<li>Applications: ", view.active_apps.size(), " running, ", view.completed_apps.size(),
            " completed</li>\n</ul>\n");
  StrAppend(&out, "<h2>Workers (", view.workers.size(), ")</h2>\n<table>\n");
  Row(&out, {"Worker ID", "Address", "State", "Cores", "Memory"}, "th");
  for (const WorkerView& w : view.workers) {
    Row(&out,
        {w.id, StrCat(w.host, ":", w.port), w.state, StrCat(w.cores, " (", w.cores_used, " used)"),
         StrCat(FormatMib(w.memory_mb), " (", FormatMib(w.memory_used_mb), " used)")});
  }
  StrAppend(&out, "</table>\n");
  AppTable(&out, "Running Applications", view.active_apps);
  AppTable(&out, "Completed Applications", view.completed_apps);
  StrAppend(&out, "<p><a href=\"/json\">JSON</a></p>\n</body></html>\n");
  return out;
}

}  // namespace kiln::master
