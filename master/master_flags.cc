#include "master/master_flags.h"

#include <climits>

#include "common/cli.h"
#include "common/settings.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln::master {
namespace {}  // namespace

absl::StatusOr<MasterFlags> ParseMasterFlags(const std::vector<std::string>& args) {
  MasterFlags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
      continue;
    }
    if (arg == "--version") {
      flags.version = true;
      continue;
    }
    if (arg == "--health") {
      flags.health = true;
      continue;
    }
    if (arg.substr(0, 2) != "--") {
      return UnexpectedArgument("kiln-master", arg);
    }
    std::string_view name = arg;
    std::string value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = std::string(arg.substr(eq + 1));
      has_value = true;
    }
    bool known = name == "--host" || name == "--port" || name == "--ui-port" || name == "--conf" ||
                 name == "--properties-file" || name == "--ready-file";
    if (!known) return UnknownFlag("kiln-master", name);
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return MissingValue(name);
      }
      value = args[++i];
    }
    if (name == "--host") {
      if (value.empty()) return BadFlagValue(name, value, "expected a host name or address");
      flags.host = value;
    } else if (name == "--port") {
      ASSIGN_OR_RETURN(flags.port, ParsePortFlag(name, value));
    } else if (name == "--ui-port") {
      ASSIGN_OR_RETURN(flags.ui_port, ParsePortFlag(name, value));
    } else if (name == "--conf") {
      if (size_t eq = value.find('='); eq == std::string::npos || eq == 0) {
        return BadFlagValue(name, value, "expected key=value");
      }
      flags.conf.push_back(value);
    } else if (name == "--properties-file") {
      flags.properties_file = value;
    } else {
      flags.ready_file = value;
    }
  }
  if (flags.port != 0 && flags.port == flags.ui_port) {
    return BadFlagValue("--ui-port", std::to_string(flags.ui_port), "the same port as --port");
  }
  if (flags.health && flags.ui_port == 0) {
    return absl::InvalidArgumentError("--health: needs the --ui-port the master listens on, not 0");
  }
  return flags;
}

std::string MasterUsage() {
  return "usage: kiln-master [flags]\n"
         "  --host H             address to listen on (default 0.0.0.0)\n"
         "  --port P             gRPC port for workers and drivers (default 7077; 0 = any\n"
         "                       free port)\n"
         "  --ui-port P          web UI and /json port (default 8080; 0 = any free port)\n"
         "  --conf key=value     a setting (repeatable), e.g. kiln.worker.timeout=60s;\n"
         "                       kiln-submit --help-settings lists them\n"
         "  --properties-file F  settings file (key value or key=value per line)\n"
         "  --ready-file F       write grpc_port, ui_port and pid to F once listening\n"
         "  --health             check the master listening on --host/--ui-port on this\n"
         "                       machine: exit 0 if it serves, else 1 with the reason\n"
         "  --version            print the version and exit\n"
         "  -h, --help           this text\n";
}

absl::StatusOr<MasterSettings> LoadMasterSettings(const MasterFlags& flags, char** environ) {
  ASSIGN_OR_RETURN(Config config, Config::Load(flags.conf, flags.properties_file, environ));
  MasterSettings out;
  out.worker_timeout = config.GetDuration("kiln.worker.timeout");
  out.app_timeout = config.GetDuration("kiln.app.timeout");
  out.spread_out = config.GetBool("kiln.deploy.spreadOut");
  int64_t retries = config.GetInt("kiln.deploy.maxExecutorRetries");
  out.max_executor_retries = static_cast<int>(std::min<int64_t>(retries, INT_MAX));
  out.default_cores =
      static_cast<int>(std::min<int64_t>(config.GetInt("kiln.deploy.defaultCores"), INT_MAX));
  out.max_message_bytes = config.GetBytes("kiln.rpc.message.maxSize");
  out.history_url = config.GetString("kiln.history.url");
  while (out.history_url.ends_with("/")) out.history_url.pop_back();
  if (!out.history_url.empty() && !out.history_url.starts_with("http://") &&
      !out.history_url.starts_with("https://")) {
    return absl::InvalidArgumentError(StrCat("setting kiln.history.url='", out.history_url,
                                             "': expected http://HOST:PORT of kiln-history"));
  }
  if (config.GetString("kiln.deploy.recoveryMode") == "filesystem") {
    out.recovery_dir = config.GetString("kiln.deploy.recoveryDirectory");
    if (out.recovery_dir.empty()) {
      return absl::InvalidArgumentError(
          "setting kiln.deploy.recoveryDirectory: required with "
          "kiln.deploy.recoveryMode=FILESYSTEM");
    }
  }
  out.recovery_timeout = config.GetDuration("kiln.deploy.recoveryTimeout");
  ASSIGN_OR_RETURN(out.credentials, rpc::LoadCredentials(config, environ));
  if (out.worker_timeout.count() <= 0) {
    return absl::InvalidArgumentError("setting kiln.worker.timeout: must be greater than 0");
  }
  if (out.app_timeout.count() <= 0) {
    return absl::InvalidArgumentError("setting kiln.app.timeout: must be greater than 0");
  }
  if (out.max_message_bytes > INT_MAX) {
    return absl::InvalidArgumentError("setting kiln.rpc.message.maxSize: must be below 2g");
  }
  return out;
}

}  // namespace kiln::master
