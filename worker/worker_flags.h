#pragma once
// Command-line flags of kiln-worker and the machine facts their defaults come from.
// Only main() reads flags; everything below it takes WorkerOptions.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/master_url.h"

namespace kiln::worker {

// What the defaults depend on; injected so that tests need no particular machine.
struct MachineInfo {
  int cores = 1;
  int64_t memory_mb = 1024;  // total physical memory
  std::string hostname = "localhost";
};

// The running machine's cores, physical memory and hostname.
MachineInfo DetectMachine();

struct WorkerFlags {
  std::string master_url;         // as given
  HostPort master;                // the (first) master of the URL
  int cores = 0;                  // default: all cores of the machine
  int64_t memory_mb = 0;          // default: physical memory minus 1 GiB, at least 1 GiB
  std::string work_dir;           // default ./work (as given; not yet made absolute)
  std::string host;               // default: 127.0.0.1 for a loopback master, else hostname
  int port = 7078;                // gRPC (control + shuffle); 0 = ephemeral
  int ui_port = 8081;             // HTTP UI; 0 = ephemeral
  std::vector<std::string> conf;  // "key=value" from repeated --conf
  std::string properties_file;
  std::string ready_file;
  bool help = false;     // --help: print WorkerUsage() and exit 0
  bool version = false;  // --version
  bool health = false;   // --health: check the worker serving on --ui-port (no --master)
};

// The usage text printed for --help.
std::string WorkerUsage();

// Parses `args` (without argv[0]): "--flag value" or "--flag=value". Errors are one
// line naming the flag and the value (INVALID_ARGUMENT).
absl::StatusOr<WorkerFlags> ParseWorkerFlags(const std::vector<std::string>& args,
                                             const MachineInfo& machine);

}  // namespace kiln::worker
