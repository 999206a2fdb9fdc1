#pragma once
// A daemon (kiln-master, kiln-worker) started by a test, as an RAII handle: the
// destructor stops it (SIGTERM, then SIGKILL after a grace) if the test did not, so no
// child outlives a failing test. Its stdout and stderr go to one log file. Header-only;
// not thread-safe.

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ready_file.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/subprocess.h"
#include "common/wait.h"
#include "tests/support/test_util.h"

namespace kiln::test {

// Where the daemons under test are built (KILN_BIN_DIR, from tests/CMakeLists.txt), and
// how long a test waits for one of them to do something.
inline const std::string kBin = KILN_BIN_DIR;
inline constexpr auto kTimeout = std::chrono::seconds(30);

class DaemonProcess {
 public:
  DaemonProcess(std::vector<std::string> argv, std::string log_path)
      : argv_(std::move(argv)), log_path_(std::move(log_path)) {}
  ~DaemonProcess() {
    if (pid_ > 0 && !exit_) exit_ = kiln::Terminate(pid_, std::chrono::seconds(5));
  }
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  absl::Status Start() {
    SpawnOptions options;
    options.argv = argv_;
    options.stdout_path = log_path_;
    options.stderr_path = log_path_;
    ASSIGN_OR_RETURN(pid_, Spawn(options));
    return absl::OkStatus();
  }

  // Waits for the ready file; fails at once (with the log tail) if the daemon exits.
  absl::StatusOr<std::map<std::string, int>> WaitReady(const std::string& ready_file,
                                                       std::chrono::milliseconds timeout) {
    absl::StatusOr<std::map<std::string, int>> ready = absl::UnavailableError("not ready");
    WaitFor(
        [&] {
          ready = ReadReadyFile(ready_file);
          return ready.ok() || Exited();
        },
        timeout);
    if (ready.ok()) return ready;
    return absl::UnavailableError(StrCat(argv_[0], " did not get ready (",
                                         Exited() ? exit_->ToString() : "still running",
                                         "); log tail:\n", LogTail()));
  }

  // Reaps the daemon if it has exited.
  bool Exited() {
    if (!exit_ && pid_ > 0) exit_ = kiln::TryWait(pid_);
    return exit_.has_value();
  }
  // Waits up to `timeout` for the daemon to exit on its own.
  std::optional<ExitInfo> WaitExit(std::chrono::milliseconds timeout) {
    WaitFor([this] { return Exited(); }, timeout);
    return exit_;
  }
  // SIGTERM, and waits up to `timeout` for the exit (no SIGKILL: the test checks it).
  std::optional<ExitInfo> Terminate(std::chrono::milliseconds timeout) {
    if (!Exited()) kill(pid_, SIGTERM);
    return WaitExit(timeout);
  }

  pid_t pid() const { return pid_; }
  std::string LogTail(int lines = 40) const { return TailFile(log_path_, lines); }

 private:
  std::vector<std::string> argv_;
  std::string log_path_;
  pid_t pid_ = -1;
  std::optional<ExitInfo> exit_;
};

}  // namespace kiln::test
