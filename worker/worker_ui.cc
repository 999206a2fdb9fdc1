#include "worker/worker_ui.h"

#include "common/strings.h"
#include "common/units.h"

namespace kiln::worker {
namespace {

struct Usage {
  int cores = 0;
  int64_t memory_mb = 0;
};

Usage Used(const std::vector<ExecutorView>& executors) {
  Usage u;
  for (const ExecutorView& e : executors) {
    u.cores += e.spec.cores;
    u.memory_mb += e.spec.memory_mb;
  }
  return u;
}

const char* StateName(const ExecutorView& e) { return e.running ? "RUNNING" : "LAUNCHING"; }

// EXITED, KILLED or FAILED.
std::string StateName(const proto::ExecutorStateChangedRequest& r) {
  return proto::ExecutorState_Name(r.state()).substr(std::string_view("EXECUTOR_").size());
}

}  // namespace

std::string WorkerJson(const WorkerInfo& info, const std::vector<ExecutorView>& executors,
                       const FinishedReports& finished) {
  const Usage used = Used(executors);
  std::string out = StrCat("{\"id\":\"", JsonEscape(info.id), "\",\"host\":\"",
                           JsonEscape(info.host), "\",\"port\":", info.port, ",\"masterurl\":\"",
                           JsonEscape(info.master_url), "\",\"cores\":", info.cores,
                           ",\"coresused\":", used.cores, ",\"memory\":", info.memory_mb,
                           ",\"memoryused\":", used.memory_mb, ",\"executors\":[");
  bool first = true;
  for (const ExecutorView& e : executors) {
    if (!first) out += ',';
    first = false;
    StrAppend(&out, "{\"appid\":\"", JsonEscape(e.spec.app_id), "\",\"id\":", e.spec.executor_id,
              ",\"cores\":", e.spec.cores, ",\"memory\":", e.spec.memory_mb, ",\"state\":\"",
              StateName(e), "\",\"pid\":", static_cast<int64_t>(e.pid), "}");
  }
  out += "],\"finishedexecutors\":[";
  first = true;
  for (const proto::ExecutorStateChangedRequest& r : finished) {
    if (!first) out += ',';
    first = false;
    StrAppend(&out, "{\"appid\":\"", JsonEscape(r.app_id()), "\",\"id\":", r.executor_id(),
              ",\"state\":\"", StateName(r), "\",\"exitcode\":", r.exit_code(), ",\"message\":\"",
              JsonEscape(r.message()), "\"}");
  }
  out += "]}";
  return out;
}

std::string WorkerHtml(const WorkerInfo& info, const std::vector<ExecutorView>& executors,
                       const FinishedReports& finished) {
  const Usage used = Used(executors);
  std::string out =
      StrCat("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Kiln worker ",
             HtmlEscape(info.id), "</title></head><body>\n<h1>Kiln worker ", HtmlEscape(info.id),
             "</h1>\n<ul><li>Address: ", HtmlEscape(info.host), ":", info.port,
             "</li><li>Master: ", HtmlEscape(info.master_url), "</li><li>Cores: ", info.cores, " (",
             used.cores, " used)</li><li>Memory: ", FormatMib(info.memory_mb), " (",
             FormatMib(used.memory_mb),
             " used)</li></ul>\n<h2>Executors</h2>\n<table border=\"1\"><tr><th>App</th>"
             "<th>Executor</th><th>Cores</th><th>Memory</th><th>State</th><th>PID</th></tr>\n");
  for (const ExecutorView& e : executors) {
    StrAppend(&out, "<tr><td>", HtmlEscape(e.spec.app_id), "</td><td>", e.spec.executor_id,
              "</td><td>", e.spec.cores, "</td><td>", FormatMib(e.spec.memory_mb), "</td><td>",
              StateName(e), "</td><td>", static_cast<int64_t>(e.pid), "</td></tr>\n");
  }
  StrAppend(&out, "</table>\n<h2>Finished Executors (", finished.size(),
            ")</h2>\n<table border=\"1\"><tr><th>App</th><th>Executor</th><th>State</th>"
            "<th>Why</th></tr>\n");
  for (auto it = finished.rbegin(); it != finished.rend(); ++it) {  // newest first
    StrAppend(&out, "<tr><td>", HtmlEscape(it->app_id()), "</td><td>", it->executor_id(),
              "</td><td>", StateName(*it), "</td><td>", HtmlEscape(it->message()), "</td></tr>\n");
  }
  out += "</table>\n<p><a href=\"/json\">JSON</a></p>\n</body></html>\n";
  return out;
}

}  // namespace kiln::worker
