// The HTML pages of app_ui.h: plain tables, one inline style sheet, no script. The
// stage page's timeline is positioned boxes (hover shows each task's figures).

#include <algorithm>
#include <set>

#include "absl/time/time.h"
#include "common/strings.h"
#include "common/units.h"
#include "driver/app_ui.h"
#include "driver/doctor.h"

namespace kiln::internal {
namespace {

constexpr size_t kMaxTaskRows = 1000;  // of a stage's task table

std::string Bytes(int64_t b) { return b == 0 ? "" : FormatBytes(b); }

void Row(std::string* out, const std::vector<std::string>& html_cells, const char* tag = "td") {
  StrAppend(out, "<tr>");
  for (const std::string& c : html_cells) StrAppend(out, "<", tag, ">", c, "</", tag, ">");
  StrAppend(out, "</tr>\n");
}

std::string Link(const std::string& href, const std::string& text) {
  return StrCat("<a href=\"", HtmlEscape(href), "\">", HtmlEscape(text), "</a>");
}

// Escaped text cells.
std::vector<std::string> Cells(const std::vector<std::string>& texts) {
  std::vector<std::string> out;
  for (const std::string& t : texts) out.push_back(HtmlEscape(t));
  return out;
}

class Page {
 public:
  Page(const AppState& app, const AppUiOptions& o, const std::string& title) : o_(o) {
    const std::string name = app.app ? StrCat(app.app->app_name, " (", app.app->app_id, ")") : "";
    StrAppend(&html_, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>",
              HtmlEscape(title), " - ", HtmlEscape(name),
              "</title>\n<style>body{font-family:sans-serif;margin:1em}table{border-collapse:"
              "collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:"
              "left}nav a{margin-right:1em}.tl{position:relative;height:18px;background:#f4f4f4;"
              "margin:2px 0}.tl "
              "span{position:absolute;top:2px;height:14px;background:#4a8;box-sizing:border-box;"
              "border-left:2px solid #fff}"
              ".tl span.f{background:#d44}.tl span.k{background:#aaa}</style></head><body>\n<nav>");
    if (!o.home.empty()) StrAppend(&html_, Link(o.home, "All applications"));
    for (const char* p : {"jobs", "stages", "storage", "executors", "environment", "doctor"}) {
      std::string label(p);
      label[0] = static_cast<char>(std::toupper(label[0]));
      StrAppend(&html_, Link(StrCat(o.base, "/", p), label));
    }
    const std::string state = app.end ? app.end->final_state : "RUNNING";
    StrAppend(&html_, "</nav>\n<h1>", HtmlEscape(title), "</h1>\n<p>Application ", HtmlEscape(name),
              ", ", HtmlEscape(state), "</p>\n");
  }
  std::string& html() { return html_; }
  std::string Href(const std::string& path) const { return o_.base + path; }
  HttpResponse Done() {
    html_ += "</body></html>\n";
    return HttpResponse{.content_type = "text/html; charset=utf-8", .body = std::move(html_)};
  }

 private:
  const AppUiOptions& o_;
  std::string html_;
};

std::string StageLink(const Page& page, const StageRow& s) {
  return Link(page.Href(StrCat("/stages/", s.info.stage_id, "/", s.info.attempt)),
              StrCat(s.info.stage_id, s.info.attempt > 0 ? StrCat(".", s.info.attempt) : ""));
}

int64_t StageDuration(const StageRow& s) {
  return s.completed_ms > 0 ? s.completed_ms - s.info.time_ms : 0;
}

void StageTable(Page& page, const AppState& app, const std::vector<const StageRow*>& stages) {
  std::string& out = page.html();
  out += "<table>\n";
  Row(&out,
      {"Stage", "Job", "Name", "Submitted", "Duration", "Tasks: Succeeded/Total", "Input", "Output",
       "Shuffle Read", "Shuffle Write", "Spill (Memory)", "Spill (Disk)", "Status"},
      "th");
  for (const StageRow* s : stages) {
    const runtime::TaskMetrics& m = s->totals;
    std::vector<std::string> cells = {StageLink(page, *s)};
    for (const std::string& text :
         {StrCat(s->info.job_id), s->info.name, FormatUiTime(s->info.time_ms),
          s->completed_ms > 0 ? FormatMillis(StageDuration(*s)) : "",
          StrCat(s->succeeded_tasks, "/", s->info.num_tasks,
                 s->failed_tasks > 0 ? StrCat(" (", s->failed_tasks, " failed)") : ""),
          Bytes(m.input_bytes), Bytes(m.output_bytes), Bytes(m.shuffle_bytes_read),
          Bytes(m.shuffle_bytes_written), Bytes(m.memory_bytes_spilled),
          Bytes(m.disk_bytes_spilled), s->status}) {
      cells.push_back(HtmlEscape(text));
    }
    Row(&out, cells);
  }
  out += "</table>\n";
  (void)app;
}

HttpResponse JobsPage(const AppState& app, const AppUiOptions& o) {
  Page page(app, o, "Jobs");
  std::string& out = page.html();
  out += "<table>\n";
  Row(&out,
      {"Job", "Action", "Submitted", "Duration", "Stages", "Tasks: Succeeded/Total", "Status"},
      "th");
  for (auto it = app.jobs.rbegin(); it != app.jobs.rend(); ++it) {
    const JobRow& j = it->second;
    int done = 0, total = 0;
    for (const auto& key : j.stages) {
      auto s = app.stages.find(key);
      if (s == app.stages.end()) continue;
      done += s->second.succeeded_tasks;
      total += s->second.info.num_tasks;
    }
    Row(&out, {Link(page.Href(StrCat("/jobs/", j.info.job_id)), StrCat(j.info.job_id)),
               HtmlEscape(j.info.action), FormatUiTime(j.info.time_ms),
               j.end_ms > 0 ? FormatMillis(j.end_ms - j.info.time_ms) : "", StrCat(j.stages.size()),
               StrCat(done, "/", total),
               HtmlEscape(j.error.empty() ? j.status : StrCat(j.status, ": ", j.error))});
  }
  out += "</table>\n";
  return page.Done();
}

HttpResponse JobPage(const AppState& app, const AppUiOptions& o, const JobRow& job) {
  Page page(app, o, StrCat("Job ", job.info.job_id, " (", job.info.action, ")"));
  std::vector<const StageRow*> stages;
  for (const auto& key : job.stages) {
    auto s = app.stages.find(key);
    if (s != app.stages.end()) stages.push_back(&s->second);
  }
  StrAppend(&page.html(), "<p>", HtmlEscape(job.status), job.error.empty() ? "" : ": ",
            HtmlEscape(job.error), "</p>\n");
  StageTable(page, app, stages);
  const std::vector<Finding> findings = DiagnoseJob(app, job.info.job_id, DoctorOptionsFrom(app));
  if (!findings.empty()) {
    StrAppend(&page.html(), "<h2>Job doctor</h2>\n<pre>",
              HtmlEscape(FormatFindings(app, job.info.job_id, findings)), "</pre>\n");
  }
  return page.Done();
}

HttpResponse StagesPage(const AppState& app, const AppUiOptions& o) {
  Page page(app, o, "Stages");
  std::vector<const StageRow*> stages;
  for (auto it = app.stages.rbegin(); it != app.stages.rend(); ++it) stages.push_back(&it->second);
  StageTable(page, app, stages);
  return page.Done();
}

// Min, 25th, median, 75th percentile and max of `values`, formatted by `format`.
template <class Format>
std::vector<std::string> Quantiles(std::vector<int64_t> values, Format format) {
  std::vector<std::string> out;
  if (values.empty()) return out;
  std::sort(values.begin(), values.end());
  for (double q : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    out.push_back(HtmlEscape(
        format(values[static_cast<size_t>(q * static_cast<double>(values.size() - 1))])));
  }
  return out;
}

void Timeline(Page& page, const StageRow& s) {
  int64_t start = INT64_MAX, end = 0;
  for (const TaskRow& t : s.tasks) {
    start = std::min(start, t.launch_ms);
    end = std::max(end, t.finished() ? t.finish_ms : t.launch_ms);
  }
  if (s.tasks.empty()) return;
  const double span = static_cast<double>(std::max<int64_t>(end - start, 1));
  std::map<std::string, std::string> rows;  // by executor
  for (const TaskRow& t : s.tasks) {
    const double left = 100.0 * static_cast<double>(t.launch_ms - start) / span;
    const double width =
        std::max(0.2, 100.0 * static_cast<double>(std::max<int64_t>(t.duration_ms(), 1)) / span);
    const char* cls = t.state == TaskState::kSuccess || !t.finished() ? ""
                      : t.state == TaskState::kKilled                 ? " class=\"k\""
                                                                      : " class=\"f\"";
    StrAppend(
        &rows[t.executor_id()], "<span", cls, " style=\"left:", left,
        "%;width:", std::min(width, 100.0 - left), "%\" title=\"",
        HtmlEscape(StrCat("task ", t.task_id, " (partition ", t.partition, ", attempt ", t.attempt,
                          "): ", TaskStateName(t.state), ", ", FormatMillis(t.duration_ms()))),
        "\"></span>");
  }
  StrAppend(&page.html(), "<h2>Timeline (", FormatMillis(end - start), ")</h2>\n<table>\n");
  for (const auto& [executor, spans] : rows) {
    StrAppend(&page.html(), "<tr><td>executor ", HtmlEscape(executor),
              "</td><td style=\"width:80%\"><div class=\"tl\">", spans, "</div></td></tr>\n");
  }
  page.html() += "</table>\n";
}

HttpResponse StagePage(const AppState& app, const AppUiOptions& o, const StageRow& s) {
  Page page(app, o,
            StrCat("Stage ", s.info.stage_id, " (attempt ", s.info.attempt, "): ", s.info.name));
  std::string& out = page.html();
  StrAppend(&out, "<p>", HtmlEscape(s.status), ", job ", s.info.job_id, ", ", s.info.num_tasks,
            " task(s) over ", s.info.num_partitions, " partition(s)",
            s.info.read_partitioning.empty()
                ? ""
                : StrCat(", reads a ", s.info.read_partitioning, "-partitioned shuffle"),
            s.failure.empty() ? "" : StrCat(": ", HtmlEscape(s.failure)), "</p>\n");
  // The succeeded tasks' durations and metrics, unpacked once for every column.
  struct Done {
    int64_t duration_ms;
    runtime::TaskMetrics m;
  };
  std::vector<Done> done;
  for (const TaskRow& t : s.tasks) {
    if (t.state == TaskState::kSuccess) done.push_back({t.duration_ms(), t.metrics()});
  }
  auto column = [&](auto get) {
    std::vector<int64_t> v;
    v.reserve(done.size());
    for (const Done& t : done) v.push_back(get(t));
    return v;
  };
  const auto ms = [](int64_t v) { return FormatMillis(v); };
  const auto bytes = [](int64_t v) { return FormatBytes(v); };
  StrAppend(&out, "<h2>Summary of the ", done.size(), " succeeded task(s)</h2>\n<table>\n");
  Row(&out, {"Metric", "Min", "25th percentile", "Median", "75th percentile", "Max"}, "th");
  struct Line {
    const char* name;
    std::vector<std::string> cells;
  };
  const std::vector<Line> lines = {
      {"Duration", Quantiles(column([](const Done& t) { return t.duration_ms; }), ms)},
      {"Run time", Quantiles(column([](const Done& t) { return t.m.run_nanos / 1000000; }), ms)},
      {"Input", Quantiles(column([](const Done& t) { return t.m.input_bytes; }), bytes)},
      {"Shuffle read",
       Quantiles(column([](const Done& t) { return t.m.shuffle_bytes_read; }), bytes)},
      {"Shuffle fetch wait",
       Quantiles(column([](const Done& t) { return t.m.fetch_wait_nanos / 1000000; }), ms)},
      {"Shuffle write",
       Quantiles(column([](const Done& t) { return t.m.shuffle_bytes_written; }), bytes)},
      {"Spill (memory)",
       Quantiles(column([](const Done& t) { return t.m.memory_bytes_spilled; }), bytes)},
      {"Spill (disk)",
       Quantiles(column([](const Done& t) { return t.m.disk_bytes_spilled; }), bytes)},
      {"Peak execution memory",
       Quantiles(column([](const Done& t) { return t.m.peak_execution_memory; }), bytes)},
  };
  for (const Line& l : lines) {
    std::vector<std::string> cells = {l.name};
    cells.insert(cells.end(), l.cells.begin(), l.cells.end());
    Row(&out, cells);
  }
  out += "</table>\n";
  if (!s.accumulables.empty()) {
    out += "<h2>Accumulators</h2>\n<table>\n";
    Row(&out, {"Accumulable", "Update", "Value"}, "th");
    for (const AccumulableInfo& a : s.accumulables) Row(&out, Cells({a.name, a.update, a.value}));
    out += "</table>\n";
  }
  Timeline(page, s);
  StrAppend(&out, "<h2>Tasks (", s.tasks.size(),
            s.tasks.size() > kMaxTaskRows ? StrCat(", the first ", kMaxTaskRows, " shown") : "",
            ")</h2>\n<table>\n");
  Row(&out,
      {"Task", "Partition", "Attempt", "Executor", "Host", "Status", "Launched", "Duration",
       "Fetch Wait", "Input", "Shuffle Read (local / remote)", "Shuffle Write",
       "Spill (Memory / Disk)", "Error"},
      "th");
  size_t n = 0;
  for (const TaskRow* row : s.TasksById()) {
    if (++n > kMaxTaskRows) break;
    const TaskRow& t = *row;
    const runtime::TaskMetrics m = t.metrics();
    Row(&out, Cells({StrCat(t.task_id), StrCat(t.partition),
                     StrCat(t.attempt, t.speculative ? " (speculative)" : ""), t.executor_id(),
                     t.host(), std::string(TaskStateName(t.state)), FormatUiTime(t.launch_ms),
                     t.finished() ? FormatMillis(t.duration_ms()) : "",
                     FormatMillis(m.fetch_wait_nanos / 1000000), Bytes(m.input_bytes),
                     m.shuffle_bytes_read == 0 ? ""
                                               : StrCat(FormatBytes(m.shuffle_local_bytes), " / ",
                                                        FormatBytes(m.shuffle_remote_bytes)),
                     Bytes(m.shuffle_bytes_written),
                     m.memory_bytes_spilled == 0 ? ""
                                                 : StrCat(Bytes(m.memory_bytes_spilled), " / ",
                                                          Bytes(m.disk_bytes_spilled)),
                     t.error}));
  }
  out += "</table>\n";
  return page.Done();
}

HttpResponse StoragePage(const AppState& app, const AppUiOptions& o) {
  Page page(app, o, "Storage");
  std::string& out = page.html();
  out += "<table>\n";
  Row(&out,
      {"Dataset", "Name", "Storage Level", "Cached Partitions", "Size in Memory", "Size on Disk"},
      "th");
  std::string blocks;
  for (const auto& [id, d] : app.datasets) {
    for (const auto& [key, b] : app.blocks) {
      if (b.dataset != id) continue;
      Row(&blocks, Cells({StrCat(id), StrCat(b.partition), b.executor_id,
                          b.disk ? "disk" : "memory", FormatBytes(b.bytes)}));
    }
    const AppState::BlockUse use = app.DatasetBlocks(id);
    Row(&out,
        Cells({StrCat(id), d.name, d.storage_level, StrCat(use.partitions, "/", d.num_partitions),
               FormatBytes(use.memory_bytes), FormatBytes(use.disk_bytes)}));
  }
  out += "</table>\n<h2>Cached partitions</h2>\n<table>\n";
  Row(&out, {"Dataset", "Partition", "Executor", "Where", "Size"}, "th");
  StrAppend(&out, blocks, "</table>\n");
  return page.Done();
}

HttpResponse ExecutorsPage(const AppState& app, const AppUiOptions& o) {
  Page page(app, o, "Executors");
  std::string& out = page.html();
  out += "<table>\n";
  Row(&out,
      {"Executor", "Host", "Status", "Cores", "Active Tasks", "Failed Tasks", "Complete Tasks",
       "Task Time", "Input", "Shuffle Read", "Shuffle Write", "Storage Memory", "Logs",
       "Removed Because"},
      "th");
  for (const auto& [id, e] : app.executors) {
    const int64_t storage = app.ExecutorBlocks(id).memory_bytes;
    std::string logs;
    if (!e.info.log_url.empty()) {
      logs = StrCat(Link(e.info.log_url + "/stdout", "stdout"), " ",
                    Link(e.info.log_url + "/stderr", "stderr"));
    }
    std::vector<std::string> cells =
        Cells({id, e.info.host, e.active ? "Active" : (e.failed ? "Failed" : "Removed"),
               StrCat(e.info.cores), StrCat(e.active_tasks), StrCat(e.failed_tasks),
               StrCat(e.succeeded_tasks), FormatMillis(e.task_time_ms), Bytes(e.totals.input_bytes),
               Bytes(e.totals.shuffle_bytes_read), Bytes(e.totals.shuffle_bytes_written),
               Bytes(storage)});
    cells.push_back(logs);
    cells.push_back(HtmlEscape(e.removed_reason));
    Row(&out, cells);
  }
  out += "</table>\n";
  return page.Done();
}

HttpResponse EnvironmentPage(const AppState& app, const AppUiOptions& o) {
  Page page(app, o, "Environment");
  std::string& out = page.html();
  if (app.app) {
    StrAppend(&out, "<p>Kiln ", HtmlEscape(app.app->kiln_version), ", master ",
              HtmlEscape(app.app->master), ", user ", HtmlEscape(app.app->user), "</p>\n");
  }
  out += "<table>\n";
  Row(&out, {"Setting", "Value", "Source"}, "th");
  if (app.app) {
    for (const auto& s : app.app->settings) Row(&out, Cells({s.key, s.value, s.source}));
  }
  out += "</table>\n";
  return page.Done();
}

HttpResponse DoctorPage(const AppState& app, const AppUiOptions& o) {
  Page page(app, o, "Job doctor");
  const DoctorOptions options = DoctorOptionsFrom(app);
  std::string report;
  for (const auto& [id, job] : app.jobs) {
    if (job.status != "RUNNING") report += FormatFindings(app, id, DiagnoseJob(app, id, options));
  }
  StrAppend(&page.html(), "<pre>",
            HtmlEscape(report.empty() ? "No findings: every finished job looks healthy." : report),
            "</pre>\n");
  return page.Done();
}

}  // namespace

std::string FormatUiTime(int64_t epoch_ms) {
  if (epoch_ms <= 0) return "";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(epoch_ms), absl::UTCTimeZone());
}

HttpResponse RenderAppPage(const AppState& app, const AppUiOptions& options,
                           std::string_view path) {
  std::vector<std::string_view> parts = Split(path, '/', /*skip_empty=*/true);
  const std::string_view what = parts.empty() ? "jobs" : parts[0];
  int id = 0, attempt = 0;
  if (what == "jobs") {
    if (parts.size() <= 1) return JobsPage(app, options);
    if (parts.size() == 2 && ParseNumber(parts[1], &id) && app.jobs.contains(id)) {
      return JobPage(app, options, app.jobs.at(id));
    }
  } else if (what == "stages") {
    if (parts.size() == 1) return StagesPage(app, options);
    if (parts.size() == 3 && ParseNumber(parts[1], &id) && ParseNumber(parts[2], &attempt)) {
      auto s = app.stages.find({id, attempt});
      if (s != app.stages.end()) return StagePage(app, options, s->second);
    }
  } else if (parts.size() == 1) {
    if (what == "storage") return StoragePage(app, options);
    if (what == "executors") return ExecutorsPage(app, options);
    if (what == "environment") return EnvironmentPage(app, options);
    if (what == "doctor") return DoctorPage(app, options);
  }
  return TextResponse(404, StrCat("no such page: ", path, "\n"));
}

}  // namespace kiln::internal
