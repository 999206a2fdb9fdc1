#pragma once
// Master URLs: "kiln://host:port[,host2:port2]" for a cluster, "local", "local[N]" or
// "local[*]" for one process.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kiln {

struct HostPort {
  std::string host;
  int port = 0;
  std::string ToString() const;  // "host:port"
};

// Parses "host:port" (port 1..65535; port 0 allowed only when `allow_zero_port`).
absl::StatusOr<HostPort> ParseHostPort(std::string_view text, bool allow_zero_port = false);

struct MasterUrl {
  bool local = false;
  int local_threads = 0;  // local mode: task threads (local[*] = all cores)
  // Local mode: attempts of a task, F of local[N,F]; 1 otherwise (Spark's local mode).
  int local_max_failures = 1;
  std::vector<HostPort> masters;  // cluster mode: one or more master addresses
  std::string original;
};

// The error names the URL and says what form is expected.
absl::StatusOr<MasterUrl> ParseMasterUrl(std::string_view url);

}  // namespace kiln
