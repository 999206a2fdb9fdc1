#pragma once
// PipedCommand: Dataset::pipe's external process. The command runs from an argv (no
// shell), found on PATH; it reads lines on its stdin and writes lines to its stdout; its
// stderr is the executor's, so it lands in the executor's log. One writer thread feeds
// stdin while the caller reads stdout, so that neither side can block the other.

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"

namespace kiln::runtime {

class PipedCommand {
 public:
  explicit PipedCommand(std::vector<std::string> argv) : argv_(std::move(argv)) {}
  ~PipedCommand();  // kills and reaps a command still running
  PipedCommand(const PipedCommand&) = delete;
  PipedCommand& operator=(const PipedCommand&) = delete;

  // Starts the command; `feed(write)` runs on the writer thread and calls write(line)
  // for each input line (without its newline), then the command's stdin is closed.
  absl::Status Start(std::function<void(const std::function<bool(std::string_view)>&)> feed);
  // Calls on_line(line) for each line of the command's stdout, then waits for it: an
  // error when it could not be read or the command did not exit with 0.
  absl::Status ReadLines(const std::function<void(std::string_view)>& on_line);

 private:
  std::string Name() const;

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::thread writer_;
};

}  // namespace kiln::runtime
