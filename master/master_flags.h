#pragma once
// kiln-master's command line and the settings it reads, parsed without side effects so
// that bad input can be refused (one line naming the flag, exit 2) before anything starts.
// Pure functions: thread-safe.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rpc_security.h"

namespace kiln::master {

struct MasterFlags {
  std::string host = "0.0.0.0";   // address to listen on (and to show, unless 0.0.0.0)
  int port = 7077;                // gRPC; 0 = ephemeral
  int ui_port = 8080;             // web UI and /json; 0 = ephemeral
  std::vector<std::string> conf;  // "key=value", repeated --conf
  std::string properties_file;
  std::string ready_file;  // written once both servers listen (tests)
  bool help = false;
  bool version = false;  // --version
  bool health = false;   // --health: check the master serving on --host/--ui-port
};

// Parses the arguments after argv[0]; accepts "--flag value" and "--flag=value". The
// error names the flag and the value.
absl::StatusOr<MasterFlags> ParseMasterFlags(const std::vector<std::string>& args);

std::string MasterUsage();

// The settings the master uses, loaded from --conf > --properties-file > environment >
// defaults and validated; an error names the key (and the --conf flag when it came from
// one).
struct MasterSettings {
  std::chrono::milliseconds worker_timeout{60000};
  std::chrono::milliseconds app_timeout{60000};
  bool spread_out = true;
  int max_executor_retries = 10;
  int default_cores = 0;  // kiln.deploy.defaultCores; 0 = no cap
  // kiln.deploy.recoveryMode=filesystem: the directory; empty = no recovery.
  std::string recovery_dir;
  std::chrono::milliseconds recovery_timeout{60000};  // kiln.deploy.recoveryTimeout
  int64_t max_message_bytes = 256 << 20;
  std::string history_url;       // kiln.history.url, without a trailing '/'
  rpc::Credentials credentials;  // kiln.authenticate, kiln.ssl.*
};
absl::StatusOr<MasterSettings> LoadMasterSettings(const MasterFlags& flags, char** environ);

}  // namespace kiln::master
