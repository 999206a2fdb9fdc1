#pragma once
// The tail of a process's log file, for the messages that say why an executor or a
// driver ended (the master shows them to the user, who may not reach the worker's disk).
// Stateless; thread-safe.

#include <string>

namespace kiln::worker {

// The last `max_lines` lines of a text file (at most its last 4 KiB), without trailing
// empty lines; "" if unreadable.
std::string TailOfFile(const std::string& path, int max_lines);

}  // namespace kiln::worker
