// The steps of a driver launch (worker/driver_launch.h) without a process: validation of
// the master's request, the driver's settings, environment and stdin, its directory
// across relaunches, and how a run's end is described.

#include "worker/driver_launch.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/settings.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln::worker {
namespace {

using test::Message;

proto::LaunchDriverRequest ValidDriverLaunch() {
  proto::LaunchDriverRequest r;
  r.set_driver_id("driver-20240101120000-0001");
  r.set_attempt(0);
  r.set_name("pi");
  r.set_cores(1);
  r.set_memory_mb(512);
  r.set_binary_digest(std::string(64, 'a'));
  r.set_binary_size(100);
  r.set_conf("kiln.app.name=pi\n");
  r.set_worker_token("the-worker-token");
  return r;
}

// The entries of `env` that start with `prefix`.
std::vector<std::string> EnvEntries(const std::vector<std::string>& env,
                                    const std::string& prefix) {
  std::vector<std::string> out;
  for (const std::string& e : env) {
    if (e.starts_with(prefix)) out.push_back(e);
  }
  return out;
}

TEST_CASE("a driver launch with a bad field is refused naming the field", "[worker][drivers]") {
  struct Case {
    std::string field;
    std::function<void(proto::LaunchDriverRequest&)> spoil;
  };
  const std::vector<Case> cases{
      {"driver_id", [](auto& r) { r.set_driver_id(""); }},
      {"driver_id", [](auto& r) { r.set_driver_id("driver-../x"); }},
      {"driver_id", [](auto& r) { r.set_driver_id(".."); }},
      {"driver_id", [](auto& r) { r.set_driver_id("binaries"); }},
      {"driver_id", [](auto& r) { r.set_driver_id("app-20240101120000-0001"); }},
      {"driver_id", [](auto& r) { r.set_driver_id("driver-" + std::string(506, 'x')); }},
      {"attempt", [](auto& r) { r.set_attempt(-1); }},
      {"binary_digest", [](auto& r) { r.set_binary_digest(std::string(64, 'A')); }},
      {"binary_digest", [](auto& r) { r.set_binary_digest(""); }},
      {"binary_size", [](auto& r) { r.set_binary_size(-1); }},
      {"cores", [](auto& r) { r.set_cores(0); }},
      {"memory_mb", [](auto& r) { r.set_memory_mb(-5); }},
      {"conf", [](auto& r) { r.set_conf("kiln.no.such.setting=1\n"); }},
      {"conf", [](auto& r) { r.set_conf("no equals sign\n"); }},
  };
  for (const Case& c : cases) {
    proto::LaunchDriverRequest r = ValidDriverLaunch();
    c.spoil(r);
    auto validated = ValidateDriverLaunch(r, "worker-host");
    INFO(c.field << ": " << validated.status().ToString());
    REQUIRE_FALSE(validated.ok());
    CHECK(absl::IsInvalidArgument(validated.status()));
    CHECK(Message(validated.status()).find(c.field) != std::string::npos);
  }
  // The longest id allowed.
  proto::LaunchDriverRequest longest = ValidDriverLaunch();
  longest.set_driver_id("driver-" + std::string(505, 'x'));
  CHECK_OK(ValidateDriverLaunch(longest, "worker-host"));
}

TEST_CASE("a driver's settings get the worker's host unless they name one", "[worker][drivers]") {
  auto validated = ValidateDriverLaunch(ValidDriverLaunch(), "worker-host.example");
  REQUIRE_OK(validated);
  CHECK(validated->worker_token().empty());  // never handed on
  auto conf = Config::Deserialize(validated->conf());
  REQUIRE_OK(conf);
  CHECK(conf->GetString("kiln.driver.host") == "worker-host.example");
  CHECK(conf->GetString("kiln.app.name") == "pi");

  proto::LaunchDriverRequest own_host = ValidDriverLaunch();
  own_host.set_conf("kiln.driver.host=10.0.0.7\n");
  auto kept = ValidateDriverLaunch(own_host, "worker-host.example");
  REQUIRE_OK(kept);
  CHECK(kept->conf() == "kiln.driver.host=10.0.0.7\n");
}

TEST_CASE("a driver's process gets its contract and not the worker's secret", "[worker][drivers]") {
  // What the worker's own environment may hold: its secret, and stale contract variables.
  REQUIRE(setenv("KILN_AUTH_SECRET", "worker-secret-value", 1) == 0);
  REQUIRE(setenv("KILN_DRIVER_ID", "driver-stale", 1) == 0);
  REQUIRE(setenv("KILN_SUBMIT_CONF", "kiln.app.name=stale\n", 1) == 0);
  proto::LaunchDriverRequest r = ValidDriverLaunch();
  r.add_args("--input");
  r.add_args("a b");
  const rpc::Credentials credentials{.secret = "0123456789abcdef0123", .tls = false};
  const SpawnOptions spawn =
      DriverSpawnOptions(r, "/work/driver-1", "/work/driver-1/binary", credentials);
  unsetenv("KILN_AUTH_SECRET");
  unsetenv("KILN_DRIVER_ID");
  unsetenv("KILN_SUBMIT_CONF");

  CHECK(spawn.argv == std::vector<std::string>{"/work/driver-1/binary", "--input", "a b"});
  CHECK(spawn.cwd == "/work/driver-1");
  CHECK(spawn.stdout_path == "/work/driver-1/stdout");
  CHECK(spawn.stderr_path == "/work/driver-1/stderr");
  CHECK(spawn.die_with_parent);
  CHECK(EnvEntries(spawn.env, "KILN_AUTH_SECRET=").empty());
  CHECK(EnvEntries(spawn.env, "KILN_DRIVER_ID=") ==
        std::vector<std::string>{"KILN_DRIVER_ID=driver-20240101120000-0001"});
  CHECK(EnvEntries(spawn.env, "KILN_SUBMIT_CONF=") ==
        std::vector<std::string>{"KILN_SUBMIT_CONF=kiln.app.name=pi\n"});
  CHECK(EnvEntries(spawn.env, "KILN_CREDENTIALS_ON_STDIN=") ==
        std::vector<std::string>{"KILN_CREDENTIALS_ON_STDIN=1"});
  CHECK(EnvEntries(spawn.env, "KILN_DRIVER_ATTEMPT=") ==
        std::vector<std::string>{StrCat("KILN_DRIVER_ATTEMPT=", r.attempt())});
  CHECK_FALSE(EnvEntries(spawn.env, "PATH=").empty());  // the rest is inherited
  auto decoded = rpc::DecodeCredentials(spawn.stdin_data);
  REQUIRE_OK(decoded);
  CHECK(decoded->secret == "0123456789abcdef0123");
}

TEST_CASE("a driver's dir keeps earlier runs' logs and links its binary", "[worker][drivers]") {
  test::TempDir dir;
  const std::string cached = dir.Sub("cached-binary");
  REQUIRE_OK(WriteFileAtomic(cached, "#!/bin/true\n"));
  const std::string driver_dir = dir.Sub("work/driver-1");

  auto first = PrepareDriverDir(driver_dir, 0, cached);
  REQUIRE_OK(first);
  CHECK(*first == driver_dir + "/binary");
  struct stat linked, original;
  REQUIRE(stat(first->c_str(), &linked) == 0);
  REQUIRE(stat(cached.c_str(), &original) == 0);
  CHECK(linked.st_ino == original.st_ino);  // a hard link: the cache may drop its name
  REQUIRE_OK(WriteFileAtomic(driver_dir + "/stdout", "out of attempt 0"));
  REQUIRE_OK(WriteFileAtomic(driver_dir + "/stderr", "err of attempt 0"));

  // Attempt 1 keeps attempt 0's logs (and finds the binary link of the run before).
  REQUIRE_OK(PrepareDriverDir(driver_dir, 1, cached));
  CHECK(access((driver_dir + "/stdout").c_str(), F_OK) != 0);
  CHECK(access((driver_dir + "/stderr").c_str(), F_OK) != 0);
  auto kept = ReadFile(driver_dir + "/stderr.0");
  REQUIRE_OK(kept);
  CHECK(*kept == "err of attempt 0");
  auto kept_out = ReadFile(driver_dir + "/stdout.0");
  REQUIRE_OK(kept_out);
  CHECK(*kept_out == "out of attempt 0");

  // A relaunch of a driver whose earlier runs were elsewhere: nothing to keep.
  REQUIRE_OK(PrepareDriverDir(dir.Sub("work/driver-2"), 3, cached));

  auto missing = PrepareDriverDir(dir.Sub("work/driver-3"), 0, dir.Sub("no-such-binary"));
  REQUIRE_FALSE(missing.ok());
  CHECK(Message(missing.status()).find("no-such-binary") != std::string::npos);
}

TEST_CASE("how a driver's run ended", "[worker][drivers]") {
  test::TempDir dir;
  REQUIRE_OK(WriteFileAtomic(dir.Sub("stderr"), "starting\nException: no input\n\n"));

  DriverEnd finished = DescribeDriverExit({.exit_code = 0}, false, dir.path());
  CHECK(finished.state == proto::DRIVER_FINISHED);

  DriverEnd failed = DescribeDriverExit({.exit_code = 3}, false, dir.path());
  CHECK(failed.state == proto::DRIVER_FAILED);
  CHECK(failed.message == "exited with code 3; last line of its stderr: Exception: no input");

  DriverEnd signalled =
      DescribeDriverExit({.signal = 9, .signaled = true}, false, dir.Sub("no-such-dir"));
  CHECK(signalled.state == proto::DRIVER_FAILED);
  CHECK(signalled.message.starts_with("killed by signal 9 ("));
  CHECK(signalled.message.find("stderr") == std::string::npos);

  // Whatever the status, a driver stopped on request was KILLED.
  DriverEnd killed = DescribeDriverExit({.exit_code = 0}, true, dir.path());
  CHECK(killed.state == proto::DRIVER_KILLED);
  CHECK(DriverStateName(killed.state) == "KILLED");
}

}  // namespace
}  // namespace kiln::worker
