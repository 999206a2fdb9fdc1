#include "driver/submit_args.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "tests/kiln_catch.h"

namespace kiln::submit {
namespace {

char* kNoEnv[] = {nullptr};

// An executable file to submit.
struct FakeApp {
  FakeApp() {
    char templ[] = "/tmp/kiln-submit-test-XXXXXX";
    int fd = mkstemp(templ);
    close(fd);
    path = templ;
    chmod(path.c_str(), 0755);
  }
  ~FakeApp() { std::remove(path.c_str()); }
  std::string path;
};

std::string Error(std::vector<std::string> args) {
  absl::StatusOr<SubmitArgs> parsed = ParseSubmitArgs(args, kNoEnv);
  REQUIRE_FALSE(parsed.ok());
  return std::string(parsed.status().message());
}

TEST_CASE("submit: flags become settings, and explicit flags beat --conf", "[submit]") {
  FakeApp app;
  absl::StatusOr<SubmitArgs> parsed =
      ParseSubmitArgs({"--master", "kiln://h:7077", "--executor-memory=2g", "--conf",
                       "kiln.executor.memory=1g", "--executor-cores", "3", "--total-executor-cores",
                       "6", "--name", "job", app.path, "in", "--not-a-kiln-flag"},
                      kNoEnv);
  REQUIRE(parsed.ok());
  CHECK(parsed->conf.GetString("kiln.master") == "kiln://h:7077");
  CHECK(parsed->conf.GetMemoryMb("kiln.executor.memory") == 2048);
  CHECK(parsed->conf.GetInt("kiln.executor.cores") == 3);
  CHECK(parsed->conf.GetInt("kiln.cores.max") == 6);
  CHECK(parsed->conf.GetString("kiln.app.name") == "job");
  CHECK(parsed->app == app.path);
  CHECK(parsed->app_args == std::vector<std::string>{"in", "--not-a-kiln-flag"});
}

TEST_CASE("submit: the app name defaults to the binary's name", "[submit]") {
  FakeApp app;
  absl::StatusOr<SubmitArgs> parsed = ParseSubmitArgs({app.path}, kNoEnv);
  REQUIRE(parsed.ok());
  CHECK(parsed->conf.GetString("kiln.app.name") == app.path.substr(app.path.rfind('/') + 1));
  CHECK(parsed->conf.GetString("kiln.master") == "local[*]");
}

TEST_CASE("submit: bad values name the flag and the value", "[submit]") {
  FakeApp app;
  CHECK(Error({"--executor-memory", "1x", app.path}).find("--executor-memory '1x'") == 0);
  CHECK(Error({"--executor-memory", "0", app.path}).find("--executor-memory '0'") == 0);
  CHECK(Error({"--executor-memory", "-1g", app.path}).find("--executor-memory '-1g'") == 0);
  CHECK(Error({"--driver-memory", "lots", app.path}).find("--driver-memory 'lots'") == 0);
  CHECK(Error({"--executor-cores", "0", app.path}).find("--executor-cores '0'") == 0);
  CHECK(Error({"--executor-cores", "abc", app.path}).find("--executor-cores 'abc'") == 0);
  CHECK(Error({"--total-executor-cores", "-2", app.path}).find("--total-executor-cores") == 0);
  CHECK(Error({"--master", "foo://x", app.path}).find("'foo://x'") != std::string::npos);
  CHECK(Error({"--master", "kiln://host", app.path}).find("no port") != std::string::npos);
  CHECK(Error({"--master", "host:7077", app.path}).find("kiln://") != std::string::npos);
  CHECK(Error({"--bogus", app.path}).find("unknown flag --bogus (see kiln-submit --help)") == 0);
  CHECK(Error({"--conf", "kiln.executor.memory=12q", app.path}).find("kiln.executor.memory") !=
        std::string::npos);
  CHECK(Error({"--conf", "nokey", app.path}).find("key=value") != std::string::npos);
  CHECK(Error({"--conf", "kiln.no.such=1", app.path}).find("unknown setting 'kiln.no.such'") !=
        std::string::npos);
  CHECK(Error({"/no/such/app"}).find("application file /no/such/app does not exist") == 0);
  CHECK(Error({"--master"}) == "--master: missing value");
  CHECK(Error({}).find("no application") == 0);
}

TEST_CASE("submit: cluster deploy mode, --supervise and --driver-cores", "[submit]") {
  FakeApp app;
  absl::StatusOr<SubmitArgs> parsed =
      ParseSubmitArgs({"--master", "kiln://h:7077", "--deploy-mode", "cluster", "--supervise",
                       "--driver-cores", "2", app.path, "in"},
                      kNoEnv);
  REQUIRE(parsed.ok());
  CHECK(parsed->action == SubmitAction::kRun);
  CHECK(parsed->conf.GetString("kiln.submit.deployMode") == "cluster");
  CHECK(parsed->conf.GetBool("kiln.driver.supervise"));
  CHECK(parsed->conf.GetInt("kiln.driver.cores") == 2);
  CHECK(parsed->app_args == std::vector<std::string>{"in"});

  CHECK(Error({"--deploy-mode", "remote", app.path}).find("--deploy-mode 'remote'") == 0);
  CHECK(Error({"--master", "local[2]", "--deploy-mode", "cluster", app.path})
            .find("--deploy-mode cluster needs a kiln://host:port master, not local[2]") == 0);
  CHECK(Error({"--master", "kiln://h:7077", "--supervise", app.path})
            .find("--supervise (kiln.driver.supervise) needs --deploy-mode cluster") == 0);
  CHECK(Error({"--driver-cores", "0", app.path}).find("--driver-cores '0'") == 0);
}

TEST_CASE("submit: --status and --kill take a driver id and no application", "[submit]") {
  absl::StatusOr<SubmitArgs> status =
      ParseSubmitArgs({"--master", "kiln://h:7077", "--status", "driver-1"}, kNoEnv);
  REQUIRE(status.ok());
  CHECK(status->action == SubmitAction::kStatus);
  CHECK(status->driver_id == "driver-1");
  absl::StatusOr<SubmitArgs> kill =
      ParseSubmitArgs({"--kill=driver-2", "--master=kiln://h:7077"}, kNoEnv);
  REQUIRE(kill.ok());
  CHECK(kill->action == SubmitAction::kKill);
  CHECK(kill->driver_id == "driver-2");

  FakeApp app;
  CHECK(Error({"--master", "kiln://h:7077", "--status", "driver-1", app.path})
            .find("--status takes no application") == 0);
  CHECK(Error({"--status", "driver-1"}).find("--status needs a kiln://host:port master") == 0);
  CHECK(Error({"--master", "kiln://h:7077", "--status", "a", "--kill", "b"})
            .find("give one of them") != std::string::npos);
  CHECK(Error({"--master", "kiln://h:7077", "--kill"}) == "--kill: missing value");
}

TEST_CASE("submit: settings come from a properties file under the flags", "[submit]") {
  FakeApp app;
  std::string props = app.path + ".conf";
  {
    std::ofstream out(props);
    out << "# defaults\nkiln.executor.memory 3g\nkiln.task.maxFailures=7\n";
  }
  absl::StatusOr<SubmitArgs> parsed = ParseSubmitArgs(
      {"--properties-file", props, "--conf", "kiln.task.maxFailures=2", app.path}, kNoEnv);
  std::remove(props.c_str());
  REQUIRE(parsed.ok());
  CHECK(parsed->conf.GetMemoryMb("kiln.executor.memory") == 3072);
  CHECK(parsed->conf.GetInt("kiln.task.maxFailures") == 2);
  CHECK(Error({"--properties-file", "/no/such.conf", app.path}).find("/no/such.conf") !=
        std::string::npos);
}

}  // namespace
}  // namespace kiln::submit
