#include "worker/worker_ui.h"

#include "absl/time/time.h"
#include "common/metrics_text.h"
#include "common/strings.h"
#include "common/units.h"
#include "worker/worker_logs.h"

namespace kiln::worker {
namespace {

struct Usage {
  int cores = 0;
  int64_t memory_mb = 0;
};

Usage Used(const std::vector<ExecutorView>& executors, const DriverSnapshot& drivers) {
  Usage u;
  for (const ExecutorView& e : executors) {
    u.cores += e.spec.cores;
    u.memory_mb += e.spec.memory_mb;
  }
  for (const DriverView& d : drivers.active) {
    u.cores += d.cores;
    u.memory_mb += d.memory_mb;
  }
  return u;
}

const char* StateName(const ExecutorView& e) { return e.running ? "RUNNING" : "LAUNCHING"; }

// EXITED, KILLED or FAILED.
std::string StateName(const proto::ExecutorStateChangedRequest& r) {
  return proto::ExecutorState_Name(r.state()).substr(std::string_view("EXECUTOR_").size());
}

std::string DriverJson(const DriverView& d, bool finished) {
  std::string out =
      StrCat("{\"id\":\"", JsonEscape(d.driver_id), "\",\"name\":\"", JsonEscape(d.name),
             "\",\"attempt\":", d.attempt, ",\"cores\":", d.cores, ",\"memory\":", d.memory_mb,
             ",\"state\":\"", JsonEscape(d.state), "\",\"starttime\":", d.start_unix_ms);
  if (finished) {
    StrAppend(&out, ",\"exitcode\":", d.exit_code, ",\"message\":\"", JsonEscape(d.message), "\"}");
  } else {
    StrAppend(&out, ",\"pid\":", static_cast<int64_t>(d.pid), "}");
  }
  return out;
}

std::string StartTime(const DriverView& d) {
  if (d.start_unix_ms == 0) return "";
  return absl::FormatTime("%Y/%m/%d %H:%M:%S", absl::FromUnixMillis(d.start_unix_ms),
                          absl::LocalTimeZone());
}

std::string DriverTables(const DriverSnapshot& drivers) {
  std::string out =
      "<h2>Running Drivers</h2>\n<table border=\"1\"><tr><th>Driver</th><th>Name</th>"
      "<th>Attempt</th><th>Cores</th><th>Memory</th><th>State</th><th>Started</th>"
      "<th>PID</th><th>Logs</th></tr>\n";
  for (const DriverView& d : drivers.active) {
    StrAppend(&out, "<tr><td>", HtmlEscape(d.driver_id), "</td><td>", HtmlEscape(d.name),
              "</td><td>", d.attempt, "</td><td>", d.cores, "</td><td>", FormatMib(d.memory_mb),
              "</td><td>", HtmlEscape(d.state), "</td><td>", StartTime(d), "</td><td>",
              static_cast<int64_t>(d.pid), "</td><td>", DriverLogLinks(d.driver_id),
              "</td></tr>\n");
  }
  StrAppend(&out, "</table>\n<h2>Finished Drivers (", drivers.finished.size(),
            ")</h2>\n<table border=\"1\"><tr><th>Driver</th><th>Name</th><th>Attempt</th>"
            "<th>Started</th><th>State</th><th>Why</th><th>Logs</th></tr>\n");
  for (auto it = drivers.finished.rbegin(); it != drivers.finished.rend(); ++it) {  // newest first
    StrAppend(&out, "<tr><td>", HtmlEscape(it->driver_id), "</td><td>", HtmlEscape(it->name),
              "</td><td>", it->attempt, "</td><td>", StartTime(*it), "</td><td>",
              HtmlEscape(it->state), "</td><td>", HtmlEscape(it->message), "</td><td>",
              DriverLogLinks(it->driver_id), "</td></tr>\n");
  }
  out += "</table>\n";
  return out;
}

}  // namespace

std::string WorkerJson(const WorkerInfo& info, const std::vector<ExecutorView>& executors,
                       const FinishedReports& finished, const DriverSnapshot& drivers) {
  const Usage used = Used(executors, drivers);
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
  out += "],\"drivers\":[";
  for (size_t i = 0; i < drivers.active.size(); ++i) {
    StrAppend(&out, i > 0 ? "," : "", DriverJson(drivers.active[i], false));
  }
  out += "],\"finisheddrivers\":[";
  for (size_t i = 0; i < drivers.finished.size(); ++i) {
    StrAppend(&out, i > 0 ? "," : "", DriverJson(drivers.finished[i], true));
  }
  out += "]}";
  return out;
}

std::string WorkerHtml(const WorkerInfo& info, const std::vector<ExecutorView>& executors,
                       const FinishedReports& finished, const DriverSnapshot& drivers) {
  const Usage used = Used(executors, drivers);
  std::string out =
      StrCat("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Kiln worker ",
             HtmlEscape(info.id), "</title></head><body>\n<h1>Kiln worker ", HtmlEscape(info.id),
             "</h1>\n<ul><li>Address: ", HtmlEscape(info.host), ":", info.port,
             "</li><li>Master: ", HtmlEscape(info.master_url), "</li><li>Cores: ", info.cores, " (",
             used.cores, " used)</li><li>Memory: ", FormatMib(info.memory_mb), " (",
             FormatMib(used.memory_mb),
             " used)</li></ul>\n<h2>Executors</h2>\n<table border=\"1\"><tr><th>App</th>"
             "<th>Executor</th><th>Cores</th><th>Memory</th><th>State</th><th>PID</th>"
             "<th>Logs</th></tr>\n");
  for (const ExecutorView& e : executors) {
    // The application's id links its UI on the driver, when it has one.
    const std::string app = e.spec.app_ui_url.empty()
                                ? HtmlEscape(e.spec.app_id)
                                : StrCat("<a href=\"", HtmlEscape(e.spec.app_ui_url), "/\">",
                                         HtmlEscape(e.spec.app_id), "</a>");
    StrAppend(&out, "<tr><td>", app, "</td><td>", e.spec.executor_id, "</td><td>", e.spec.cores,
              "</td><td>", FormatMib(e.spec.memory_mb), "</td><td>", StateName(e), "</td><td>",
              static_cast<int64_t>(e.pid), "</td><td>",
              ExecutorLogLinks(e.spec.app_id, e.spec.executor_id), "</td></tr>\n");
  }
  StrAppend(&out, "</table>\n<h2>Finished Executors (", finished.size(),
            ")</h2>\n<table border=\"1\"><tr><th>App</th><th>Executor</th><th>State</th>"
            "<th>Why</th><th>Logs</th></tr>\n");
  for (auto it = finished.rbegin(); it != finished.rend(); ++it) {  // newest first
    StrAppend(&out, "<tr><td>", HtmlEscape(it->app_id()), "</td><td>", it->executor_id(),
              "</td><td>", StateName(*it), "</td><td>", HtmlEscape(it->message()), "</td><td>",
              ExecutorLogLinks(it->app_id(), it->executor_id()), "</td></tr>\n");
  }
  out += "</table>\n";
  out += DriverTables(drivers);
  out += "<p><a href=\"/json\">JSON</a></p>\n</body></html>\n";
  return out;
}

std::string WorkerMetrics(const WorkerInfo& info, const std::vector<ExecutorView>& executors,
                          const DriverSnapshot& drivers, ShuffleServed shuffle,
                          LaunchCounts launches, const RpcMetrics& rpc) {
  constexpr double kMiB = 1024.0 * 1024.0;
  const Usage used = Used(executors, drivers);
  MetricsText out;
  out.Gauge("kiln_worker_cores", "Cores this worker offers.", info.cores);
  out.Gauge("kiln_worker_cores_used", "Cores of its executors and drivers.", used.cores);
  out.Gauge("kiln_worker_memory_bytes", "Memory this worker offers.", info.memory_mb * kMiB);
  out.Gauge("kiln_worker_memory_used_bytes", "Memory of its executors and drivers.",
            used.memory_mb * kMiB);
  int running = 0;
  for (const ExecutorView& e : executors) running += e.running ? 1 : 0;
  out.Family("kiln_worker_executors", "gauge", "Executors on this worker, by state.");
  out.Sample("kiln_worker_executors", {{"state", "LAUNCHING"}},
             static_cast<double>(executors.size()) - running);
  out.Sample("kiln_worker_executors", {{"state", "RUNNING"}}, running);
  out.Family("kiln_worker_executor_starts_total", "counter",
             "Executors started since the worker started: in a standby process kept ready in "
             "its memory cgroup, or forked at their launch.");
  out.Sample("kiln_worker_executor_starts_total", {{"process", "standby"}},
             static_cast<double>(launches.from_standby));
  out.Sample("kiln_worker_executor_starts_total", {{"process", "forked"}},
             static_cast<double>(launches.forked));
  out.Gauge("kiln_worker_standby_executors",
            "Standby processes ready to become executors (kiln.worker.standbyExecutors).",
            launches.standby_ready);
  out.Gauge("kiln_worker_drivers", "Drivers of cluster deploy mode this worker runs or launches.",
            static_cast<double>(drivers.active.size()));
  out.Counter("kiln_worker_shuffle_blocks_served_total",
              "Shuffle blocks this worker served whole to reduce tasks since it started.",
              static_cast<double>(shuffle.blocks));
  out.Counter("kiln_worker_shuffle_bytes_served_total",
              "Shuffle bytes this worker sent to reduce tasks since it started.",
              static_cast<double>(shuffle.bytes));
  out.Counter("kiln_worker_broadcast_bytes_served_total",
              "Bytes of broadcast variables' chunks this worker sent to executors since it "
              "started.",
              static_cast<double>(shuffle.broadcast_bytes));
  rpc.Write(&out);
  return out.text();
}

}  // namespace kiln::worker
