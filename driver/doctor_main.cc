// kiln-doctor EVENT_LOG: the job doctor's findings for an application, read from its
// event log (finished, in progress, or cut short by a crash).

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/cli.h"
#include "common/strings.h"
#include "common/version.h"
#include "driver/doctor.h"
#include "driver/event_log.h"

namespace {

constexpr std::string_view kUsage =
    "usage: kiln-doctor [--job N] EVENT_LOG\n"
    "  Prints the job doctor's findings (skew, spills, partition counts, stragglers,\n"
    "  failures) for every job of the application whose event log is EVENT_LOG\n"
    "  (kiln.eventLog.dir/<app-id>, or <app-id>.inprogress while it runs).\n"
    "  --job N      only job N\n"
    "  --version    print the version\n";

int Usage(const absl::Status& error) {
  std::fprintf(stderr, "kiln-doctor: %s\n", std::string(error.message()).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kiln;
  using namespace kiln::internal;
  std::string path;
  int only_job = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(std::string(kUsage).c_str(), stdout);
      return 0;
    }
    if (arg == "--version") {
      std::printf("%s\n", VersionText("kiln-doctor").c_str());
      return 0;
    }
    if (arg == "--job") {
      if (i + 1 >= argc) return Usage(MissingValue("--job"));
      const std::string_view value = argv[++i];
      if (!ParseNumber(value, &only_job) || only_job < 0) {
        return Usage(BadFlagValue("--job", value, "expected a job number, 0 or more"));
      }
      continue;
    }
    if (arg.starts_with("-")) return Usage(UnknownFlag("kiln-doctor", arg));
    if (!path.empty()) return Usage(UnexpectedArgument("kiln-doctor", arg));
    path = std::string(arg);
  }
  if (path.empty()) {
    std::fputs(std::string(kUsage).c_str(), stderr);
    return 2;
  }
  absl::StatusOr<EventLogContents> log = ReadEventLog(path);
  if (!log.ok()) {
    std::fprintf(stderr, "kiln-doctor: %s\n", std::string(log.status().message()).c_str());
    return 1;
  }
  // Everything the log holds: no retention limit when replaying.
  AppStatusStore store(AppStatusLimits{
      .retained_jobs = INT32_MAX, .retained_stages = INT32_MAX, .retained_tasks = INT32_MAX});
  for (const Event& e : log->events) store.OnEvent(e);
  if (only_job >= 0 &&
      !store.Read([&](const AppState& app) { return app.jobs.contains(only_job); })) {
    std::fprintf(stderr, "kiln-doctor: --job %d: %s has no job %d\n", only_job, path.c_str(),
                 only_job);
    return 1;
  }
  const std::string report = store.Read([&](const AppState& app) {
    const DoctorOptions options = DoctorOptionsFrom(app);
    std::string out;
    int jobs = 0, findings = 0;
    for (const auto& [id, job] : app.jobs) {
      if (only_job >= 0 && id != only_job) continue;
      ++jobs;
      const std::vector<Finding> found = DiagnoseJob(app, id, options);
      findings += static_cast<int>(found.size());
      out += FormatFindings(app, id, found);
    }
    const std::string name = app.app ? StrCat(app.app->app_id, " (", app.app->app_name, ")")
                                     : std::string("the application");
    const std::string state =
        app.end ? app.end->final_state : "not ended (still running, or cut short)";
    return StrCat("kiln doctor: ", name, ": ", jobs, " job(s), ", findings, " finding(s); ", state,
                  "\n", out);
  });
  std::fputs(report.c_str(), stdout);
  if (log->truncated) {
    std::fprintf(stderr,
                 "kiln-doctor: %s ends in the middle of a line (its driver died); the "
                 "rest was read\n",
                 path.c_str());
  }
  return 0;
}
