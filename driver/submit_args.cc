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
      "       kiln-submit --master kiln://HOST:PORT --status DRIVER_ID\n"
      "       kiln-submit --master kiln://HOST:PORT --kill DRIVER_ID\n"
      "  --master URL                 kiln://host:port, local, local[N], local[*] or\n"
      "                               local[N,F] (F: tries per task; default: kiln.master,\n"
      "                               else ",
      default_of("kiln.master"),
      ")\n"
      "  --deploy-mode MODE           client (the driver runs here) or cluster (on a\n"
      "                               worker the master picks; prints the driver id and\n"
      "                               returns) (kiln.submit.deployMode; default ",
      default_of("kiln.submit.deployMode"),
      ")\n"
      "  --supervise                  cluster mode: relaunch the driver when it fails or\n"
      "                               its worker is lost (kiln.driver.supervise)\n"
      "  --driver-cores N             cluster mode: the driver's cores (kiln.driver.cores;\n"
      "                               default ",
      default_of("kiln.driver.cores"),
      ")\n"
      "  --status DRIVER_ID           the state of a driver run in cluster mode\n"
      "  --kill DRIVER_ID             kill a driver run in cluster mode\n"
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
    if (arg == "--supervise") {
      flag_settings.emplace_back("kiln.driver.supervise", "true");
      continue;
    }
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
                                   "--properties-file",
                                   "--deploy-mode",
                                   "--driver-cores",
                                   "--status",
                                   "--kill"};
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
    } else if (flag == "--deploy-mode") {
      if (value != "client" && value != "cluster") {
        return BadFlagValue(flag, value, "expected client or cluster");
      }
      flag_settings.emplace_back("kiln.submit.deployMode", value);
    } else if (flag == "--driver-cores") {
      RETURN_IF_ERROR(CheckCores(flag, value));
      flag_settings.emplace_back("kiln.driver.cores", value);
    } else if (flag == "--status" || flag == "--kill") {
      if (out.action != SubmitAction::kRun) {
        return absl::InvalidArgumentError("--status and --kill: give one of them, once");
      }
      if (value.empty() || value.starts_with("-")) {
        return BadFlagValue(flag, value, "expected a driver id (driver-...)");
      }
      out.action = flag == "--status" ? SubmitAction::kStatus : SubmitAction::kKill;
      out.driver_id = value;
    } else if (flag == "--conf") {
      conf_flags.push_back(value);
    } else if (flag == "--properties-file") {
      if (!std::filesystem::is_regular_file(value)) {
        return BadFlagValue(flag, value, "no such file");
      }
      properties_file = value;
    }
  }
  if (out.action != SubmitAction::kRun) {
    if (i < args.size()) {
      return absl::InvalidArgumentError(
          StrCat(out.action == SubmitAction::kStatus ? "--status" : "--kill",
                 " takes no application (got ", args[i], ")"));
    }
  } else if (i >= args.size()) {
    return absl::InvalidArgumentError("no application given (see kiln-submit --help)");
  } else {
    out.app = args[i];
    out.app_args.assign(args.begin() + static_cast<long>(i) + 1, args.end());
    std::error_code ec;
    if (!std::filesystem::is_regular_file(out.app, ec)) {
      return absl::NotFoundError(StrCat("application file ", out.app, " does not exist"));
    }
    if (access(out.app.c_str(), X_OK) != 0) {
      return absl::PermissionDeniedError(
          StrCat("application file ", out.app, " is not executable"));
    }
  }
  ASSIGN_OR_RETURN(out.conf, Config::Load(conf_flags, properties_file, environ));
  out.warnings = UnreadSettingWarnings(conf_flags, kApp, "kiln-submit and the driver");
  for (const auto& [key, value] : flag_settings) RETURN_IF_ERROR(out.conf.Set(key, value));
  RETURN_IF_ERROR(out.conf.CheckConsistency());
  auto master = ParseMasterUrl(out.conf.GetString("kiln.master"));
  if (!master.ok())
    return absl::InvalidArgumentError(StrCat("kiln.master: ", View(master.status().message())));
  const bool cluster_mode = out.conf.GetString("kiln.submit.deployMode") == "cluster";
  if ((out.action != SubmitAction::kRun || cluster_mode) && master->local) {
    return absl::InvalidArgumentError(
        StrCat(out.action == SubmitAction::kStatus ? "--status"
               : out.action == SubmitAction::kKill ? "--kill"
                                                   : "--deploy-mode cluster",
               " needs a kiln://host:port master, not ", master->original,
               " (in local mode the driver runs in kiln-submit's place)"));
  }
  if (out.action == SubmitAction::kRun && !cluster_mode &&
      out.conf.GetBool("kiln.driver.supervise")) {
    return absl::InvalidArgumentError(
        "--supervise (kiln.driver.supervise) needs --deploy-mode cluster: a driver running "
        "here is not relaunched");
  }
  if (out.action != SubmitAction::kRun) return out;
  if (!out.conf.IsSet("kiln.app.name")) {
    RETURN_IF_ERROR(
        out.conf.Set("kiln.app.name", std::filesystem::path(out.app).filename().string()));
  }
  return out;
}

}  // namespace kiln::submit
