// StandbyExecutors against the kernel's memory cgroups, where this machine lets the test
// create them: standbys wait in cgroups of their own, a taken one runs its program there
// under its limit, the pool refills, and Stop() leaves no process and no cgroup behind.

#include "worker/standby_executors.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <set>
#include <string>

#include "common/files.h"
#include "common/subprocess.h"
#include "common/wait.h"
#include "tests/kiln_catch.h"
#include "tests/support/processes.h"
#include "tests/support/test_util.h"

namespace kiln::worker {
namespace {

using std::chrono::seconds;
using test::Message;

const std::string kHelper = KILN_BIN_DIR "/kiln-exec-standby";

// The names of the cgroups under `dir` that start with "standby-".
std::set<std::string> StandbyCgroups(const std::string& dir) {
  std::set<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (std::string(e->d_name).starts_with("standby-")) names.insert(e->d_name);
    }
    closedir(d);
  }
  return names;
}

// The processes whose parent is this one and that run `program`.
std::set<pid_t> OurChildrenRunning(const std::string& program) {
  std::set<pid_t> pids;
  DIR* d = opendir("/proc");
  REQUIRE(d != nullptr);
  while (dirent* e = readdir(d)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    const std::string stat = ReadFile(StrCat("/proc/", pid, "/stat")).value_or("");
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    // "<pid> (<comm>) <state> <ppid> ..."
    const pid_t ppid = static_cast<pid_t>(std::atoi(stat.c_str() + paren + 4));
    const std::vector<std::string> args = test::ProcessArgs(pid);
    if (ppid == getpid() && !args.empty() && args[0] == program) pids.insert(pid);
  }
  closedir(d);
  return pids;
}

std::string LimitFile(const MemoryCgroups& cgroups, const std::string& name) {
  return StrCat(cgroups.parent(), "/", name,
                cgroups.version() == 1 ? "/memory.limit_in_bytes" : "/memory.max");
}

TEST_CASE(
    "standby executors wait in cgroups of their own, run a program under its limit "
    "and are replaced, and Stop leaves nothing behind",
    "[worker][cgroup]") {
  auto cgroups = MemoryCgroups::Open();
  if (!cgroups.ok()) {
    WARN("no memory cgroup here (" << Message(cgroups.status()) << "): nothing to check");
    return;
  }
  const MemoryCgroups& groups = **cgroups;
  StandbyExecutors pool({.count = 2, .helper = kHelper, .cgroups = &groups});
  CHECK(pool.ready() == 0);
  CHECK_FALSE(pool.Take().has_value());  // not started: none, and no wait
  pool.Start();
  REQUIRE(WaitFor([&] { return pool.ready() == 2; }, seconds(20)));
  CHECK(StandbyCgroups(groups.parent()).size() == 2);
  CHECK(OurChildrenRunning(kHelper).size() == 2);

  std::optional<StandbyExecutors::Taken> taken = pool.Take();
  REQUIRE(taken.has_value());
  const pid_t pid = taken->child->pid();
  // It is in its cgroup before it has a program.
  const std::string where = ReadFile(StrCat("/proc/", pid, "/cgroup")).value_or("");
  INFO(where);
  CHECK(where.find("/" + taken->cgroup + "\n") != std::string::npos);

  REQUIRE_OK(groups.SetLimit(taken->cgroup, int64_t{96} << 20));
  CHECK(ReadFile(LimitFile(groups, taken->cgroup)).value_or("") == "100663296\n");
  test::TempDir dir;
  SpawnOptions program;
  program.argv = {"/bin/sh", "-c", "cat /proc/self/cgroup; echo $$"};
  program.stdout_path = dir.Sub("out");
  REQUIRE_OK(taken->child->Start(program));
  CHECK(Wait(pid).exit_code == 0);
  const std::string out = ReadFile(dir.Sub("out")).value_or("");
  CHECK(out.find("/" + taken->cgroup + "\n") != std::string::npos);
  CHECK(out.ends_with("\n" + std::to_string(pid) + "\n"));
  REQUIRE_OK(groups.Remove(taken->cgroup));

  // Replaced in the background.
  REQUIRE(WaitFor([&] { return pool.ready() == 2; }, seconds(20)));
  CHECK(OurChildrenRunning(kHelper).size() == 2);

  // One given back unstarted goes, cgroup and all.
  std::optional<StandbyExecutors::Taken> unused = pool.Take();
  REQUIRE(unused.has_value());
  const pid_t unused_pid = unused->child->pid();
  const std::string unused_cgroup = unused->cgroup;
  pool.Discard(*std::move(unused));
  CHECK(kill(unused_pid, 0) != 0);
  CHECK(StandbyCgroups(groups.parent()).count(unused_cgroup) == 0);

  REQUIRE(WaitFor([&] { return pool.ready() == 2; }, seconds(20)));
  pool.Stop();
  CHECK(pool.ready() == 0);
  CHECK(OurChildrenRunning(kHelper).empty());
  CHECK(StandbyCgroups(groups.parent()).empty());
}

TEST_CASE("standby executors whose helper cannot run are not offered, and the pool backs off",
          "[worker][cgroup]") {
  auto cgroups = MemoryCgroups::Open();
  if (!cgroups.ok()) {
    WARN("no memory cgroup here (" << Message(cgroups.status()) << "): nothing to check");
    return;
  }
  StandbyExecutors pool(
      {.count = 1, .helper = "/nonexistent/kiln-exec-standby", .cgroups = cgroups->get()});
  pool.Start();
  // The first attempt fails at once; the next waits a second, with nothing left behind.
  REQUIRE(WaitFor([&] { return pool.failed_attempts() >= 1; }, seconds(5)));
  CHECK(StandbyCgroups((*cgroups)->parent()).empty());
  CHECK(pool.ready() == 0);
  CHECK_FALSE(pool.Take().has_value());
  const auto start = std::chrono::steady_clock::now();
  pool.Stop();  // does not wait out the backoff
  CHECK(std::chrono::steady_clock::now() - start < seconds(5));
}

}  // namespace
}  // namespace kiln::worker
