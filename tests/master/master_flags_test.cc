#include "master/master_flags.h"

#include "tests/kiln_catch.h"

namespace kiln::master {
namespace {

std::string ErrorOf(const std::vector<std::string>& args) {
  auto flags = ParseMasterFlags(args);
  REQUIRE_FALSE(flags.ok());
  return std::string(flags.status().message());
}

TEST_CASE("master flags: defaults and both flag forms") {
  auto d = ParseMasterFlags({});
  REQUIRE(d.ok());
  CHECK(d->port == 7077);
  CHECK(d->ui_port == 8080);
  CHECK(d->host == "0.0.0.0");
  auto f = ParseMasterFlags({"--host", "127.0.0.1", "--port=0", "--ui-port", "0", "--conf",
                             "kiln.worker.timeout=5s", "--conf=kiln.deploy.spreadOut=false",
                             "--ready-file", "/tmp/r", "--properties-file=/tmp/p"});
  REQUIRE(f.ok());
  CHECK(f->host == "127.0.0.1");
  CHECK(f->port == 0);
  CHECK(f->ui_port == 0);
  CHECK(f->conf ==
        std::vector<std::string>{"kiln.worker.timeout=5s", "kiln.deploy.spreadOut=false"});
  CHECK(f->ready_file == "/tmp/r");
  CHECK(f->properties_file == "/tmp/p");
}

TEST_CASE("master flags: errors name the flag and the value") {
  CHECK_THAT(ErrorOf({"--port", "abc"}), Catch::Contains("--port 'abc'"));
  CHECK_THAT(ErrorOf({"--ui-port=70000"}), Catch::Contains("--ui-port '70000'"));
  CHECK_THAT(ErrorOf({"--port"}), Catch::Contains("--port: missing value"));
  CHECK_THAT(ErrorOf({"--frobnicate", "1"}), Catch::Contains("unknown flag --frobnicate"));
  CHECK(ErrorOf({"stray"}) ==
        "unexpected argument 'stray' (kiln-master takes only flags; see kiln-master --help)");
  CHECK(ErrorOf({"--port", "7100", "--ui-port", "7100"}) ==
        "--ui-port '7100': the same port as --port");
  CHECK_THAT(ErrorOf({"--conf", "novalue"}), Catch::Contains("--conf 'novalue'"));
}

TEST_CASE("master settings: loaded, validated, errors name the key") {
  char* empty_env[] = {nullptr};
  MasterFlags flags;
  flags.conf = {"kiln.worker.timeout=5s", "kiln.deploy.spreadOut=false",
                "kiln.deploy.maxExecutorRetries=3"};
  auto s = LoadMasterSettings(flags, empty_env);
  REQUIRE(s.ok());
  CHECK(s->worker_timeout == std::chrono::seconds(5));
  CHECK(s->app_timeout == std::chrono::seconds(60));
  CHECK_FALSE(s->spread_out);
  CHECK(s->max_executor_retries == 3);

  flags.conf = {"kiln.worker.timeout=abc"};
  auto bad = LoadMasterSettings(flags, empty_env);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()),
             Catch::Contains("setting kiln.worker.timeout='abc'"));
  flags.conf = {"kiln.worker.timeout=0s"};
  bad = LoadMasterSettings(flags, empty_env);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()), Catch::Contains("kiln.worker.timeout"));
  flags.conf = {"kiln.no.such=1"};
  REQUIRE_FALSE(LoadMasterSettings(flags, empty_env).ok());
}

TEST_CASE("master settings: sharing and recovery settings") {
  char* empty_env[] = {nullptr};
  MasterFlags flags;
  auto defaults = LoadMasterSettings(flags, empty_env);
  REQUIRE(defaults.ok());
  CHECK(defaults->default_cores == 0);
  CHECK(defaults->recovery_dir.empty());
  CHECK(defaults->recovery_timeout == std::chrono::seconds(60));
  flags.conf = {"kiln.deploy.defaultCores=4", "kiln.deploy.recoveryMode=FILESYSTEM",
                "kiln.deploy.recoveryDirectory=/var/lib/kiln", "kiln.deploy.recoveryTimeout=30s"};
  auto s = LoadMasterSettings(flags, empty_env);
  REQUIRE(s.ok());
  CHECK(s->default_cores == 4);
  CHECK(s->recovery_dir == "/var/lib/kiln");
  CHECK(s->recovery_timeout == std::chrono::seconds(30));
  flags.conf = {"kiln.deploy.recoveryMode=filesystem"};
  auto missing = LoadMasterSettings(flags, empty_env);
  REQUIRE_FALSE(missing.ok());
  CHECK(std::string(missing.status().message()) ==
        "setting kiln.deploy.recoveryDirectory: required with kiln.deploy.recoveryMode=FILESYSTEM");
  flags.conf = {"kiln.history.url=http://history:18080/"};
  auto history = LoadMasterSettings(flags, empty_env);
  REQUIRE(history.ok());
  CHECK(history->history_url == "http://history:18080");
  flags.conf = {"kiln.history.url=history:18080"};
  auto bad_history = LoadMasterSettings(flags, empty_env);
  REQUIRE_FALSE(bad_history.ok());
  CHECK(std::string(bad_history.status().message()) ==
        "setting kiln.history.url='history:18080': expected http://HOST:PORT of kiln-history");
  flags.conf = {"kiln.deploy.recoveryMode=zookeeper"};
  auto unknown = LoadMasterSettings(flags, empty_env);
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(std::string(unknown.status().message()), Catch::Contains("kiln.deploy.recoveryMode"));
}

}  // namespace
}  // namespace kiln::master
