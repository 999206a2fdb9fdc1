#pragma once
// RunCommand: run a program to completion (kiln-submit, the examples) and capture its
// exit code and output, with a deadline. Thread-compatible.

#include <chrono>
#include <string>
#include <vector>

namespace kiln::test {

struct CommandResult {
  int exit_code = -1;      // the exit code, or -signal if it was killed (ExitInfo::code())
  bool timed_out = false;  // it overran the timeout and was killed (with its process group)
  std::string out;         // everything it wrote to stdout
  std::string err;         // everything it wrote to stderr (or why it could not start)
  // "exit code N (timed out)\n--- stdout ---\n...\n--- stderr ---\n...": for INFO().
  std::string ToString() const;
};

// Runs `argv` (argv[0] is a path, or a name searched in $PATH) with no shell, its output
// going to temporary files. `env` holds "KEY=VALUE" entries added to (or replacing in)
// this process's environment. On timeout the child's whole process group is killed.
CommandResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         const std::vector<std::string>& env = {});

// `extra` entries "KEY=VALUE" laid over this process's environment.
std::vector<std::string> EnvironmentWith(const std::vector<std::string>& extra);

}  // namespace kiln::test
