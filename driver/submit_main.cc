// kiln-submit: runs a Kiln application against a cluster (kiln://host:port) or in
// this process's place in local mode (local[N]). Client deploy mode: the driver runs
// here — kiln-submit validates its input and then becomes the application (execv),
// passing the settings in KILN_SUBMIT_CONF; the application prints its id. Cluster
// deploy mode, --status and --kill: see driver/submit_cluster.h.

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/driver_command.h"
#include "common/settings.h"
#include "common/strings.h"
#include "common/version.h"
#include "driver/submit_args.h"
#include "driver/submit_cluster.h"

extern char** environ;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<kiln::submit::SubmitArgs> parsed = kiln::submit::ParseSubmitArgs(args, environ);
  if (!parsed.ok()) {
    std::fprintf(stderr, "kiln-submit: %s\n",
                 std::string(kiln::View(parsed.status().message())).c_str());
    return 2;
  }
  if (parsed->help) {
    std::fputs(kiln::submit::SubmitUsage().c_str(), stdout);
    return 0;
  }
  if (parsed->version) {
    std::printf("%s\n", kiln::VersionText("kiln-submit").c_str());
    return 0;
  }
  if (parsed->help_settings) {
    std::fputs(kiln::SettingsTableMarkdown().c_str(), stdout);
    return 0;
  }
  for (const std::string& warning : parsed->warnings) {
    std::fprintf(stderr, "kiln-submit: warning: %s\n", warning.c_str());
  }
  switch (parsed->action) {
    case kiln::submit::SubmitAction::kStatus:
      return kiln::submit::PrintDriverStatus(*parsed, environ);
    case kiln::submit::SubmitAction::kKill:
      return kiln::submit::KillDriver(*parsed, environ);
    case kiln::submit::SubmitAction::kRun:
      break;
  }
  if (parsed->conf.GetString("kiln.submit.deployMode") == "cluster") {
    return kiln::submit::SubmitToCluster(*parsed, environ);
  }
  std::string conf = parsed->conf.Serialize();
  if (setenv(std::string(kiln::kSubmitConfEnv).c_str(), conf.c_str(), 1) != 0) {
    std::fprintf(stderr, "kiln-submit: cannot set the environment: %s\n", std::strerror(errno));
    return 1;
  }
  std::vector<char*> app_argv;
  app_argv.push_back(parsed->app.data());
  for (std::string& a : parsed->app_args) app_argv.push_back(a.data());
  app_argv.push_back(nullptr);
  execv(parsed->app.c_str(), app_argv.data());
  std::fprintf(stderr, "kiln-submit: cannot run %s: %s\n", parsed->app.c_str(),
               std::strerror(errno));
  return 1;
}
