#pragma once
// Finding processes through /proc, for the tests' leak checks: executors are the
// workers' children, not the test's, so the test finds them by their command line.
// Stateless and thread-safe.

#include <sys/types.h>

#include <string>
#include <vector>

namespace kiln::test {

// The argument vector of a live process (/proc/<pid>/cmdline); empty if it is gone, a
// zombie or a kernel thread.
std::vector<std::string> ProcessArgs(pid_t pid);

// Pids of executor processes (argv holds "--kiln-executor") whose application dir
// (--app-dir=D or --app-dir D) lies under `dir`. `dir` should be canonical.
std::vector<pid_t> FindExecutorPids(const std::string& dir);

// True while `pid` exists and is not a zombie.
bool ProcessAlive(pid_t pid);

}  // namespace kiln::test
