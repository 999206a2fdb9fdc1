#pragma once
// kiln-submit's command line: parsed and validated before anything connects, so that
// bad input gets one line naming the flag or value.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/settings.h"

namespace kiln::submit {

// What kiln-submit does: run an application (the driver here, or in cluster deploy mode on
// a worker), or ask the master about a driver it runs or kill it (spark-submit's --status
// and --kill).
enum class SubmitAction { kRun, kStatus, kKill };

struct SubmitArgs {
  SubmitAction action = SubmitAction::kRun;
  std::string driver_id;  // kStatus, kKill
  Config conf;            // every setting, flags applied over --conf and the file
  std::string app;        // kRun: the application binary (checked: exists, executable)
  std::vector<std::string> app_args;
  bool help = false;
  bool help_settings = false;
  bool version = false;
  // --conf settings kiln-submit and the driver do not read (UnreadSettingWarnings).
  std::vector<std::string> warnings;
};

// argv without the program name. Flags take "--flag value" or "--flag=value".
absl::StatusOr<SubmitArgs> ParseSubmitArgs(const std::vector<std::string>& args, char** environ);

std::string SubmitUsage();

}  // namespace kiln::submit
