#pragma once
// The memory a process uses, as the kernel counts it.

#include <sys/types.h>

#include <cstdint>

#include "absl/status/statusor.h"

namespace kiln {

// The resident set size of process `pid` in bytes (/proc/<pid>/statm). NotFound once
// the process is gone.
absl::StatusOr<int64_t> ResidentBytes(pid_t pid);

}  // namespace kiln
