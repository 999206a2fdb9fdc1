// Parsing of kiln-worker's flags and their Spark-like defaults.

#include "worker/worker_flags.h"

#include <string>
#include <vector>

#include "common/ports.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln::worker {
namespace {

const MachineInfo kMachine{.cores = 8, .memory_mb = 16384, .hostname = "node7"};

absl::StatusOr<WorkerFlags> Parse(std::vector<std::string> args) {
  return ParseWorkerFlags(args, kMachine);
}

TEST_CASE("worker defaults follow Spark", "[worker][flags]") {
  auto f = Parse({"--master", "kiln://127.0.0.1:7077"});
  REQUIRE_OK(f);
  CHECK(f->master_url == "kiln://127.0.0.1:7077");
  CHECK(f->master.host == "127.0.0.1");
  CHECK(f->master.port == 7077);
  CHECK(f->cores == 8);
  CHECK(f->memory_mb == 16384 - 1024);
  CHECK(f->work_dir == "./work");
  CHECK(f->host == "127.0.0.1");  // loopback master -> loopback worker
  CHECK(f->port == 7078);
  CHECK(f->ui_port == 8081);
  CHECK_FALSE(f->help);
}

TEST_CASE("a remote master makes the worker advertise its hostname", "[worker][flags]") {
  auto f = Parse({"--master=kiln://master.example:7077"});
  REQUIRE_OK(f);
  CHECK(f->host == "node7");
  auto local = Parse({"--master=kiln://localhost:7077"});
  REQUIRE_OK(local);
  CHECK(local->host == "127.0.0.1");
}

TEST_CASE("small machines still offer 1 GiB", "[worker][flags]") {
  auto f = ParseWorkerFlags({"--master", "kiln://h:1"},
                            MachineInfo{.cores = 1, .memory_mb = 1500, .hostname = "h"});
  REQUIRE_OK(f);
  CHECK(f->memory_mb == 1024);
}

TEST_CASE("every worker flag is parsed, in both spellings", "[worker][flags]") {
  auto f = Parse({"--master", "kiln://m:7077", "--cores=3", "--memory", "4g", "--work-dir", "/w",
                  "--host=10.1.2.3", "--port", "0", "--ui-port=0", "--conf", "a.b=1",
                  "--conf=c.d=x=y", "--properties-file", "/p.conf", "--ready-file", "/r"});
  REQUIRE_OK(f);
  CHECK(f->cores == 3);
  CHECK(f->memory_mb == 4096);
  CHECK(f->work_dir == "/w");
  CHECK(f->host == "10.1.2.3");
  CHECK(f->port == 0);
  CHECK(f->ui_port == 0);
  CHECK(f->conf == std::vector<std::string>{"a.b=1", "c.d=x=y"});
  CHECK(f->properties_file == "/p.conf");
  CHECK(f->ready_file == "/r");
  auto mem = Parse({"--master", "kiln://m:7077", "--memory", "512"});
  REQUIRE_OK(mem);
  CHECK(mem->memory_mb == 512);  // a bare number is MiB
}

TEST_CASE("bad worker flags are one error naming the flag and value", "[worker][flags]") {
  struct Case {
    std::vector<std::string> args;
    std::string must_mention;
  };
  const std::vector<Case> cases = {
      {{"--master", "kiln://m:7077", "--cores", "0"}, "--cores '0'"},
      {{"--master", "kiln://m:7077", "--cores", "abc"}, "--cores 'abc'"},
      {{"--master", "kiln://m:7077", "--cores", "-2"}, "--cores '-2'"},
      {{"--master", "kiln://m:7077", "--memory", "1x"}, "--memory '1x'"},
      {{"--master", "kiln://m:7077", "--memory", "0"}, "--memory '0'"},
      {{"--master", "kiln://m:7077", "--memory", "-1g"}, "--memory '-1g'"},
      {{"--master", "kiln://m:7077", "--port", "70000"}, "--port '70000'"},
      {{"--master", "kiln://m:7077", "--ui-port", "x"}, "--ui-port 'x'"},
      {{"--master", "kiln://m:7077", "--conf", "novalue"}, "--conf 'novalue'"},
      {{"--master", "kiln://m"}, "--master 'kiln://m'"},
      {{"--master", "m:7077"}, "--master 'm:7077'"},
      {{"--master", "foo://m:7077"}, "--master 'foo://m:7077'"},
      {{"--master", "local[2]"}, "--master 'local[2]'"},
      {{"--master", "kiln://m:7077", "--frobnicate", "1"}, "--frobnicate"},
      {{"--master", "kiln://m:7077", "--cores"}, "--cores"},
      {{"--cores", "2"}, "--master"},
  };
  for (const Case& c : cases) {
    auto f = Parse(c.args);
    INFO(c.must_mention);
    REQUIRE_FALSE(f.ok());
    CHECK(absl::IsInvalidArgument(f.status()));
    const std::string message(f.status().message());
    CHECK(message.find(c.must_mention) != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("--help asks for the usage", "[worker][flags]") {
  auto f = Parse({"--help"});
  REQUIRE_OK(f);
  CHECK(f->help);
  CHECK(WorkerUsage().find("--master") != std::string::npos);
}

TEST_CASE("loopback hosts", "[worker][flags]") {
  CHECK(IsLoopbackHost("127.0.0.1"));
  CHECK(IsLoopbackHost("127.1.2.3"));
  CHECK(IsLoopbackHost("localhost"));
  CHECK(IsLoopbackHost("::1"));
  CHECK_FALSE(IsLoopbackHost("10.0.0.1"));
  CHECK_FALSE(IsLoopbackHost("node7"));
}

}  // namespace
}  // namespace kiln::worker
