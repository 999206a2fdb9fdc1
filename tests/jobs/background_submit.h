#pragma once
// Jobs that run while a test breaks the cluster under them: kiln-submit in the
// background, and what a test watches to time its fault (map outputs written,
// executors registered). Not thread-safe (one test thread).

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/subprocess.h"
#include "tests/jobs/job_util.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {

// kiln-submit of `program` (a path; tests/apps' slow_app when empty) on `master`, in the
// background: stdout and stderr in DIR/submit.out and DIR/submit.err (`name`.out and
// .err when given); `env` holds "K=V" laid over the test's environment. Terminated if
// the test ends before it does.
class BackgroundSubmit {
 public:
  BackgroundSubmit(const std::string& master, const TempDir& dir,
                   const std::vector<std::string>& app_args, std::vector<std::string> env = {},
                   const std::string& program = "", const std::string& name = "submit");
  BackgroundSubmit(const MiniCluster& cluster, const TempDir& dir,
                   const std::vector<std::string>& app_args)
      : BackgroundSubmit(cluster.master_url(), dir, app_args) {}
  BackgroundSubmit(const BackgroundSubmit&) = delete;
  BackgroundSubmit& operator=(const BackgroundSubmit&) = delete;
  ~BackgroundSubmit();

  pid_t pid() const { return pid_; }
  // Its exit, waiting up to `timeout`; null if it is still running.
  const std::optional<ExitInfo>& Wait(milliseconds timeout = seconds(60));

 private:
  pid_t pid_ = -1;
  std::optional<ExitInfo> exit_;
};

// Waits for `submit`, which must succeed with DIR/out the same bytes as DIR/reference;
// then the cluster must end idle. Returns the driver's stderr.
std::string ExpectSameOutput(BackgroundSubmit& submit, const TempDir& dir,
                             const MiniCluster& cluster);

// Map outputs committed under `dir` (their shuffle .index files), of every shuffle or,
// with `shuffle` >= 0, of that one only. A dir that does not exist holds none.
int MapOutputsUnder(const std::string& dir, int shuffle = -1);

// How many executors of `app` have reached their driver (their kRegisteredFile exists).
int RegisteredExecutors(const MiniCluster& cluster, const std::string& app);

}  // namespace kiln::test::jobs
