// MemoryCgroups: finding this process's memory cgroup in /proc text, the files it writes
// for cgroup v1 and v2 (on fake hierarchies in a temp dir), and, where this machine lets
// the test create cgroups, the kernel killing a process at its cgroup's limit.

#include "worker/memory_cgroups.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "common/files.h"
#include "common/subprocess.h"
#include "common/wait.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"
#include "worker/executor_table.h"

namespace kiln::worker {
namespace {

using test::Message;
using test::TempDir;

constexpr char kV1Mounts[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST_CASE("the memory cgroup is found on v1, v2 and inside containers", "[worker][cgroup]") {
  auto v1 = FindMemoryCgroup("4:memory:/process_api/abc\n1:cpu:/\n0::/\n", kV1Mounts);
  REQUIRE_OK(v1.status());
  CHECK(v1->version == 1);
  CHECK(v1->dir == "/sys/fs/cgroup/memory/process_api/abc");

  // Controllers bound together; a container that mounts its own part of the hierarchy.
  auto joint = FindMemoryCgroup(
      "7:cpu,memory:/docker/c1\n",
      "40 30 0:40 /docker/c1 /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,cpu,memory\n");
  REQUIRE_OK(joint.status());
  CHECK(joint->dir == "/sys/fs/cgroup/memory");

  auto v2 = FindMemoryCgroup("0::/system.slice/kiln-worker.service\n",
                             "29 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
  REQUIRE_OK(v2.status());
  CHECK(v2->version == 2);
  CHECK(v2->dir == "/sys/fs/cgroup/system.slice/kiln-worker.service");

  auto escaped = FindMemoryCgroup("0::/a\n", "29 23 0:26 / /my\\040cgroups rw - cgroup2 none rw\n");
  REQUIRE_OK(escaped.status());
  CHECK(escaped->dir == "/my cgroups/a");

  auto none = FindMemoryCgroup("1:cpu:/\n", kV1Mounts);
  CHECK(absl::IsFailedPrecondition(none.status()));
  auto unmounted = FindMemoryCgroup("4:memory:/\n", "");
  CHECK(absl::IsFailedPrecondition(unmounted.status()));
  CHECK(Message(unmounted.status()).find("not mounted") != std::string::npos);
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

std::string Read(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  return text.ok() ? *text : "<missing>";
}

// A fake hierarchy: <tmp>/mnt mounted as the memory controller (v1) or cgroup2, this
// process in /kiln-test.
struct FakeHierarchy {
  explicit FakeHierarchy(int version) {
    mnt = dir.Sub("mnt");
    own = mnt + "/kiln-test";
    REQUIRE_OK(MakeDirs(own));
    sources.self_cgroup = dir.Sub("cgroup");
    sources.mountinfo = dir.Sub("mountinfo");
    sources.pid = 4242;
    if (version == 1) {
      Write(sources.self_cgroup, "4:memory:/kiln-test\n");
      Write(sources.mountinfo, "35 31 0:32 / " + mnt + " rw - cgroup cgroup rw,memory\n");
    } else {
      Write(sources.self_cgroup, "0::/kiln-test\n");
      Write(sources.mountinfo, "29 23 0:26 / " + mnt + " rw - cgroup2 cgroup2 rw\n");
      Write(own + "/cgroup.controllers", "cpu io memory pids\n");
      Write(own + "/cgroup.subtree_control", "");
    }
  }
  TempDir dir;
  std::string mnt, own;
  CgroupSources sources;
};

TEST_CASE("cgroup v1: an executor's cgroup gets its limit and reports OOM kills",
          "[worker][cgroup]") {
  FakeHierarchy fake(1);
  // Left by a worker that is gone (no process has that pid), and by a live one.
  const std::string stale = fake.own + "/kiln-executors-2147483646";
  REQUIRE_OK(MakeDirs(stale));
  const std::string live = fake.own + "/kiln-executors-" + std::to_string(getpid());
  REQUIRE_OK(MakeDirs(live));
  auto cgroups = MemoryCgroups::Open(fake.sources);
  REQUIRE_OK(cgroups.status());
  CHECK((*cgroups)->version() == 1);
  CHECK((*cgroups)->parent() == fake.own + "/kiln-executors-4242");
  CHECK(access(stale.c_str(), F_OK) != 0);
  CHECK(access(live.c_str(), F_OK) == 0);

  auto procs = (*cgroups)->Create("app-1-executor-0", int64_t{896} << 20);
  REQUIRE_OK(procs.status());
  const std::string exec = (*cgroups)->parent() + "/app-1-executor-0";
  CHECK(*procs == exec + "/cgroup.procs");
  CHECK(Read(exec + "/memory.limit_in_bytes") == "939524096");
  CHECK(absl::IsInvalidArgument((*cgroups)->Create("../escape", 1 << 20).status()));

  CHECK((*cgroups)->Usage("app-1-executor-0").oom_kills == 0);
  Write(exec + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
  Write(exec + "/memory.max_usage_in_bytes", "939520000\n");
  const CgroupUsage usage = (*cgroups)->Usage("app-1-executor-0");
  CHECK(usage.oom_kills == 1);
  CHECK(usage.peak_bytes == 939520000);
}

TEST_CASE("cgroup v2: memory is delegated to the executors' cgroups, swap is off",
          "[worker][cgroup]") {
  FakeHierarchy fake(2);
  auto cgroups = MemoryCgroups::Open(fake.sources);
  REQUIRE_OK(cgroups.status());
  CHECK((*cgroups)->version() == 2);
  CHECK(Read(fake.own + "/cgroup.subtree_control") == "+memory");
  CHECK(Read((*cgroups)->parent() + "/cgroup.subtree_control") == "+memory");
  const std::string exec = (*cgroups)->parent() + "/app-2-executor-5";
  REQUIRE_OK(MakeDirs(exec));  // the kernel makes these files with the cgroup
  Write(exec + "/memory.swap.max", "max\n");
  Write(exec + "/memory.oom.group", "0\n");
  // Create replaces a cgroup of that name, so a fake one must be made by hand again.
  REQUIRE_OK(RemoveAll(exec));
  REQUIRE_OK((*cgroups)->Create("app-2-executor-5", int64_t{1} << 30).status());
  CHECK(Read(exec + "/memory.max") == "1073741824");
  Write(exec + "/memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n");
  Write(exec + "/memory.peak", "1073700000\n");
  CHECK((*cgroups)->Usage("app-2-executor-5").oom_kills == 1);
  CHECK((*cgroups)->Usage("app-2-executor-5").peak_bytes == 1073700000);

  Write(fake.own + "/cgroup.controllers", "cpu io pids\n");
  auto without = MemoryCgroups::Open(fake.sources);
  CHECK(absl::IsFailedPrecondition(without.status()));
  CHECK(Message(without.status()).find("memory controller is not available") != std::string::npos);
}

TEST_CASE("an executor the kernel killed at its cgroup's limit is reported as such",
          "[worker][cgroup]") {
  FakeHierarchy fake(1);
  auto cgroups = MemoryCgroups::Open(fake.sources);
  REQUIRE_OK(cgroups.status());
  struct NoProcesses : ProcessControl {
    std::optional<ExitInfo> TryWait(pid_t) override {
      return ExitInfo{.signal = SIGKILL, .signaled = true};
    }
    void Signal(pid_t, int) override { ++signals; }
    absl::StatusOr<int64_t> ResidentBytes(pid_t) override { return int64_t{950} << 20; }
    int signals = 0;
  } procs;
  FakeClock clock;
  ExecutorTable table(&procs, &clock, std::chrono::seconds(5), cgroups->get());
  ExecutorSpec spec;
  spec.app_id = "app-1";
  spec.executor_id = 3;
  spec.cores = 1;
  spec.memory_mb = 512;
  spec.memory_limit_bytes = int64_t{896} << 20;
  spec.host = "h1";
  REQUIRE_OK(table.BeginLaunch(spec));
  REQUIRE_OK((*cgroups)->Create("app-1-executor-3", spec.memory_limit_bytes).status());
  table.SetRunning("app-1", 3, 100, "/d", "app-1-executor-3");
  table.EnforceMemoryLimits();  // above the limit, but the kernel's to enforce
  CHECK(procs.signals == 0);
  const std::string exec = (*cgroups)->parent() + "/app-1-executor-3";
  Write(exec + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
  Write(exec + "/memory.max_usage_in_bytes", std::to_string(int64_t{896} << 20));
  std::vector<ExecutorExit> exits = table.Poll();
  REQUIRE(exits.size() == 1);
  CHECK_FALSE(exits[0].killed);
  INFO(exits[0].failure);
  CHECK(exits[0].failure.find("executor 3 on host h1 exceeded its memory limit of 896.0 MiB "
                              "(kiln.executor.memory 512.0 MiB + kiln.executor.memoryOverhead "
                              "384.0 MiB; the kernel killed it at the limit of its memory "
                              "cgroup, peak usage 896.0 MiB, peak RSS seen 950.0 MiB)") !=
        std::string::npos);
}

// Touches `bytes` of fresh memory, a MiB at a time.
void Allocate(int64_t bytes) {
  for (int64_t done = 0; done < bytes; done += 1 << 20) {
    char* p = static_cast<char*>(malloc(1 << 20));
    if (p != nullptr) memset(p, 1, 1 << 20);
  }
}

TEST_CASE("a process past its real cgroup's limit is killed by the kernel, and counted",
          "[worker][cgroup]") {
  auto cgroups = MemoryCgroups::Open();
  if (!cgroups.ok()) {
    WARN("no memory cgroup here (" << Message(cgroups.status()) << "): nothing to check");
    return;
  }
  const std::string parent = (*cgroups)->parent();
  auto procs = (*cgroups)->Create("probe", 64 << 20);
  REQUIRE_OK(procs.status());
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int fd = open(procs->c_str(), O_WRONLY);
    if (fd < 0 || write(fd, "0", 1) != 1) _exit(3);
    Allocate(int64_t{512} << 20);
    _exit(0);
  }
  ExitInfo exit = Wait(child);
  INFO(exit.ToString());
  CHECK(exit.signaled);
  CHECK(exit.signal == SIGKILL);
  const CgroupUsage usage = (*cgroups)->Usage("probe");
  CHECK(usage.oom_kills >= 1);
  CHECK(usage.peak_bytes >= 60 << 20);
  CHECK(usage.peak_bytes <= 64 << 20);
  REQUIRE_OK((*cgroups)->Remove("probe"));

  // A spawned child is in its cgroup from its first instruction.
  auto sleeper_procs = (*cgroups)->Create("sleeper", 64 << 20);
  REQUIRE_OK(sleeper_procs.status());
  SpawnOptions spawn;
  spawn.argv = {"/bin/sleep", "30"};
  spawn.cgroup_procs = *sleeper_procs;
  absl::StatusOr<pid_t> sleeper = Spawn(spawn);
  REQUIRE_OK(sleeper.status());
  // It joins between fork and execve, so before the program runs, but maybe after Spawn
  // returned.
  std::string where;
  const bool joined = WaitFor(
      [&] {
        where = ReadFile("/proc/" + std::to_string(*sleeper) + "/cgroup").value_or("");
        return where.find("/sleeper\n") != std::string::npos;
      },
      std::chrono::seconds(10));
  Terminate(*sleeper, std::chrono::seconds(1));
  INFO(where);
  CHECK(joined);
  REQUIRE_OK((*cgroups)->Remove("sleeper"));
  cgroups->reset();
  CHECK(access(parent.c_str(), F_OK) != 0);
}

}  // namespace
}  // namespace kiln::worker
