#include "driver/submit_args.h"

#include <unistd.h>

#include <filesystem>

#include "common/cli.h"
#include "common/master_url.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/units.h"

namespace kiln::submit {
namespace {

absl::Status CheckCores(std::string_view flag, const std::string& value) {
  int cores = 0;
  if (!ParseNumber(value, &cores) || cores <= 0) {
    return BadFlagValue(flag, value, "expected a whole number of cores > 0");
  }
  return absl::OkStatus();
}

absl::Status CheckMemory(std::string_view flag, const std::string& value) {
  if (value.starts_with("-")) return BadFlagValue(flag, value, "memory cannot be negative");
  auto mb = ParseProcessMemoryMb(value);
  if (!mb.ok()) return BadFlagValue(flag, value, View(mb.status().message()));
  return absl::OkStatus();
}

}  // namespace

std::string SubmitUsage() {
  // The defaults come from the settings table, so that they cannot drift.
  auto default_of = [](std::string_view key) { return FindSetting(key)->default_value; };
  return StrCat(
      "usage: kiln-submit [options] APP [APP_ARGS...]\n"
      "  --master URL                 kiln://host:port, local, local[N], local[*] or\n"
      "                               local[N,F] (F: tries per task; default: kiln.master,\n"
      "                               else ",
      default_of("kiln.master"),
      ")\n"
      "  --name NAME                  application name (default: APP's file name)\n"
      "  --executor-cores N           cores per executor (kiln.executor.cores; default ",
      default_of("kiln.executor.cores"),
      " = all\n"
      "                               of a worker's free cores)\n"
      "  --executor-memory SIZE       memory per executor, at least 450m, e.g. 2g\n"
      "                               (kiln.executor.memory; default ",
      default_of("kiln.executor.memory"),
      ")\n"
      "  --total-executor-cores N     cap on the application's cores (kiln.cores.max;\n"
      "                               default ",
      default_of("kiln.cores.max"),
      " = no cap)\n"
      "  --driver-memory SIZE         driver memory, at least 450m (kiln.driver.memory;\n"
      "                               default ",
      default_of("kiln.driver.memory"),
      ")\n"
      "  --conf KEY=VALUE             any setting; repeatable\n"
      "  --properties-file FILE       settings file (key value lines)\n"
      "  --help-settings              the table of every setting (Markdown)\n"
      "  --version                    print the version and exit\n"
      "  -h, --help                   this text\n");
}

absl::StatusOr<SubmitArgs> ParseSubmitArgs(const std::vector<std::string>& args, char** environ) {
  SubmitArgs out;
  std::vector<std::string> conf_flags;
  std::string properties_file;
  // flag -> setting, applied after --conf (explicit flags win, as in spark-submit)
  std::vector<std::pair<std::string, std::string>> flag_settings;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      return out;
    }
    if (arg == "--version") {
      out.version = true;
      return out;
    }
    if (arg == "--help-settings") {
      out.help_settings = true;
      return out;
    }
    if (!arg.starts_with("-")) break;  // the application
    std::string flag = arg, value;
    size_t eq = arg.find('=');
    bool inline_value = eq != std::string::npos;
    if (inline_value) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    static const char* kFlags[] = {"--master",
                                   "--name",
                                   "--executor-cores",
                                   "--executor-memory",
                                   "--total-executor-cores",
                                   "--driver-memory",
                                   "--conf",
                                   "--properties-file"};
    if (std::find(std::begin(kFlags), std::end(kFlags), flag) == std::end(kFlags)) {
      return UnknownFlag("kiln-submit", flag);
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) return MissingValue(flag);
      value = args[++i];
    }
    if (flag == "--master") {
      auto url = ParseMasterUrl(value);
      if (!url.ok())
        return absl::InvalidArgumentError(StrCat("--master: ", View(url.status().message())));
      flag_settings.emplace_back("kiln.master", value);
    } else if (flag == "--name") {
      flag_settings.emplace_back("kiln.app.name", value);
    } else if (flag == "--executor-cores") {
      RETURN_IF_ERROR(CheckCores(flag, value));
      flag_settings.emplace_back("kiln.executor.cores", value);
    } else if (flag == "--total-executor-cores") {
      RETURN_IF_ERROR(CheckCores(flag, value));
      flag_settings.emplace_back("kiln.cores.max", value);
    } else if (flag == "--executor-memory") {
      RETURN_IF_ERROR(CheckMemory(flag, value));
      flag_settings.emplace_back("kiln.executor.memory", value);
    } else if (flag == "--driver-memory") {
      RETURN_IF_ERROR(CheckMemory(flag, value));
      flag_settings.emplace_back("kiln.driver.memory", value);
    } else if (flag == "--conf") {
      conf_flags.push_back(value);
    } else if (flag == "--properties-file") {
      if (!std::filesystem::is_regular_file(value)) {
        return BadFlagValue(flag, value, "no such file");
      }
      properties_file = value;
    }
  }
  if (i >= args.size()) {
    return absl::InvalidArgumentError("no application given (see kiln-submit --help)");
  }
  out.app = args[i];
  out.app_args.assign(args.begin() + static_cast<long>(i) + 1, args.end());
  std::error_code ec;
  if (!std::filesystem::is_regular_file(out.app, ec)) {
    return absl::NotFoundError(StrCat("application file ", out.app, " does not exist"));
  }
  if (access(out.app.c_str(), X_OK) != 0) {
    return absl::PermissionDeniedError(StrCat("application file ", out.app, " is not executable"));
  }
  ASSIGN_OR_RETURN(out.conf, Config::Load(conf_flags, properties_file, environ));
  out.warnings = UnreadSettingWarnings(conf_flags, kApp, "kiln-submit and the driver");
  for (const auto& [key, value] : flag_settings) RETURN_IF_ERROR(out.conf.Set(key, value));
  RETURN_IF_ERROR(out.conf.CheckConsistency());
  auto master = ParseMasterUrl(out.conf.GetString("kiln.master"));
  if (!master.ok())
    return absl::InvalidArgumentError(StrCat("kiln.master: ", View(master.status().message())));
  if (!out.conf.IsSet("kiln.app.name")) {
    RETURN_IF_ERROR(
        out.conf.Set("kiln.app.name", std::filesystem::path(out.app).filename().string()));
  }
  return out;
}

}  // namespace kiln::submit
