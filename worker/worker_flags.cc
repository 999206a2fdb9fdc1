#include "worker/worker_flags.h"

#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <thread>

#include "common/cli.h"
#include "common/ports.h"
#include "common/settings.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/units.h"

namespace kiln::worker {

MachineInfo DetectMachine() {
  MachineInfo info;
  info.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  struct sysinfo si;
  if (sysinfo(&si) == 0) {
    info.memory_mb = static_cast<int64_t>(si.totalram) * si.mem_unit / (1024 * 1024);
  }
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0') info.hostname = name;
  return info;
}

std::string WorkerUsage() {
  return "usage: kiln-worker --master kiln://HOST:PORT [flags]\n"
         "  --master URL           the master to register with, kiln://HOST:PORT (required)\n"
         "  --cores N              cores to offer (default: all of the machine's)\n"
         "  --memory SIZE          memory to offer, at least 450m (default: the machine's\n"
         "                         memory minus 1g, at least 1g)\n"
         "  --work-dir DIR         executors' dirs, shuffle files, binaries (default ./work)\n"
         "  --host HOST            address to advertise (default: 127.0.0.1 for a loopback\n"
         "                         master, else the host name); listened on if loopback,\n"
         "                         else every address is\n"
         "  --port P               gRPC port for the master, drivers and peers (default\n"
         "                         7078; 0 = any free port)\n"
         "  --ui-port P            web UI and /json port (default 8081; 0 = any free port)\n"
         "  --conf KEY=VALUE       a setting (repeatable); kiln-submit --help-settings lists\n"
         "                         them\n"
         "  --properties-file F    settings file (key value or key=value per line)\n"
         "  --ready-file F         write grpc_port, ui_port and pid to F once registered\n"
         "  --health               check the worker on --ui-port of this machine (no\n"
         "                         --master needed): exit 0 if it serves and reaches its\n"
         "                         master, else 1 with the reason\n"
         "  --version              print the version and exit\n"
         "  -h, --help             this text";
}

namespace {

using Handler = std::function<absl::Status(const std::string& flag, const std::string& value)>;

std::map<std::string, Handler> Handlers(WorkerFlags* f, bool* cores_set, bool* memory_set,
                                        bool* host_set) {
  std::map<std::string, Handler> h;
  h["--master"] = [f](const std::string& flag, const std::string& v) -> absl::Status {
    // Only a cluster master: local[N] is not a master a worker can join.
    auto url = ParseMasterUrl(v);
    if (!v.starts_with("kiln://") || !url.ok() || url->local) {
      return BadFlagValue(flag, v, "expected kiln://HOST:PORT, the URL kiln-master prints");
    }
    f->master_url = v;
    f->master = url->masters.front();
    return absl::OkStatus();
  };
  h["--cores"] = [f, cores_set](const std::string& flag, const std::string& v) -> absl::Status {
    if (!ParseNumber(v, &f->cores) || f->cores <= 0) {
      return BadFlagValue(flag, v, "expected a whole number of cores > 0");
    }
    *cores_set = true;
    return absl::OkStatus();
  };
  h["--memory"] = [f, memory_set](const std::string& flag, const std::string& v) -> absl::Status {
    auto mb = ParseMemoryMb(v);
    if (!mb.ok() || *mb < kMinProcessMemoryMb) {
      return BadFlagValue(flag, v,
                          StrCat("expected a size of at least ", kMinProcessMemoryMb,
                                 "m (the least one executor may have), such as 4g"));
    }
    f->memory_mb = *mb;
    *memory_set = true;
    return absl::OkStatus();
  };
  h["--work-dir"] = [f](const std::string& flag, const std::string& v) -> absl::Status {
    if (v.empty()) return BadFlagValue(flag, v, "must not be empty");
    f->work_dir = v;
    return absl::OkStatus();
  };
  h["--host"] = [f, host_set](const std::string& flag, const std::string& v) -> absl::Status {
    if (v.empty() || v.find_first_of(" \t/") != std::string::npos) {
      return BadFlagValue(flag, v, "expected a host name or IP address");
    }
    f->host = v;
    *host_set = true;
    return absl::OkStatus();
  };
  h["--port"] = [f](const std::string& flag, const std::string& v) -> absl::Status {
    ASSIGN_OR_RETURN(f->port, ParsePortFlag(flag, v));
    return absl::OkStatus();
  };
  h["--ui-port"] = [f](const std::string& flag, const std::string& v) -> absl::Status {
    ASSIGN_OR_RETURN(f->ui_port, ParsePortFlag(flag, v));
    return absl::OkStatus();
  };
  h["--conf"] = [f](const std::string& flag, const std::string& v) -> absl::Status {
    if (v.find('=') == std::string::npos) return BadFlagValue(flag, v, "expected key=value");
    f->conf.push_back(v);
    return absl::OkStatus();
  };
  h["--properties-file"] = [f](const std::string& flag, const std::string& v) -> absl::Status {
    f->properties_file = v;
    return absl::OkStatus();
  };
  h["--ready-file"] = [f](const std::string& flag, const std::string& v) -> absl::Status {
    f->ready_file = v;
    return absl::OkStatus();
  };
  return h;
}

}  // namespace

absl::StatusOr<WorkerFlags> ParseWorkerFlags(const std::vector<std::string>& args,
                                             const MachineInfo& machine) {
  WorkerFlags f;
  f.work_dir = "./work";
  bool cores_set = false, memory_set = false, host_set = false;
  std::map<std::string, Handler> handlers = Handlers(&f, &cores_set, &memory_set, &host_set);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      f.help = true;
      return f;
    }
    if (arg == "--version") {
      f.version = true;
      return f;
    }
    if (arg == "--health") {
      f.health = true;
      continue;
    }
    std::string flag = arg, value;
    bool has_value = false;
    if (size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    if (!arg.starts_with("--")) return UnexpectedArgument("kiln-worker", arg);
    auto it = handlers.find(flag);
    if (it == handlers.end()) {
      return UnknownFlag("kiln-worker", flag);
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return MissingValue(flag);
      }
      value = args[++i];
    }
    RETURN_IF_ERROR(it->second(flag, value));
  }
  if (f.port != 0 && f.port == f.ui_port) {
    return BadFlagValue("--ui-port", std::to_string(f.ui_port), "the same port as --port");
  }
  if (f.health) {
    if (f.ui_port == 0) {
      return absl::InvalidArgumentError(
          "--health: needs the --ui-port the worker listens on, not 0");
    }
    // The UI listens on a loopback --host itself, else on every address.
    if (!host_set || !IsLoopbackHost(f.host)) f.host = "127.0.0.1";
    return f;
  }
  if (f.master_url.empty()) {
    return absl::InvalidArgumentError(
        "missing --master kiln://HOST:PORT (the master this worker registers with)");
  }
  if (!cores_set) f.cores = std::max(1, machine.cores);
  // Spark leaves 1 GiB to the operating system, but offers at least 1 GiB.
  if (!memory_set) f.memory_mb = std::max<int64_t>(machine.memory_mb - 1024, 1024);
  if (!host_set) f.host = IsLoopbackHost(f.master.host) ? "127.0.0.1" : machine.hostname;
  return f;
}

}  // namespace kiln::worker
