// kiln.authenticate on a real cluster: every method of every service refuses callers
// without the secret (walked from the services' descriptors, so a new method is covered
// the day it is added) and changes nothing for them; a job runs with exact results; the
// secret reaches no command line, no executor's environment, no log and no page.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clients/worker_client.h"
#include "common/files.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/rpc.h"
#include "common/rpc_security.h"
#include "common/strings.h"
#include "common/wait.h"
#include "google/protobuf/descriptor.h"
#include "proto/driver.grpc.pb.h"
#include "proto/master.grpc.pb.h"
#include "proto/worker.grpc.pb.h"
#include "tests/jobs/background_submit.h"
#include "tests/jobs/job_util.h"
#include "tests/jobs/rpc_probe.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

// Requests that would change something if they were obeyed, by method name; other
// methods get an empty message.
std::map<std::string, std::string> HarmfulRequests(const std::string& real_worker_id) {
  std::map<std::string, std::string> out;
  proto::RegisterWorkerRequest worker;
  worker.set_worker_id("worker-20260101000000-127.0.0.1-1");
  worker.set_host("127.0.0.1");
  worker.set_port(1);
  worker.set_cores(8);
  worker.set_memory_mb(8192);
  out["/kiln.proto.Master/RegisterWorker"] = worker.SerializeAsString();
  proto::UnregisterWorkerRequest unregister;
  unregister.set_worker_id(real_worker_id);
  out["/kiln.proto.Master/UnregisterWorker"] = unregister.SerializeAsString();
  proto::RegisterApplicationRequest app;
  app.set_name("intruder");
  app.set_cores_per_executor(1);
  app.set_memory_per_executor_mb(512);
  app.set_binary_digest(std::string(64, 'a'));
  app.set_driver_address("127.0.0.1:1");
  app.set_request_id("intruder-1");
  out["/kiln.proto.Master/RegisterApplication"] = app.SerializeAsString();
  proto::LaunchExecutorRequest launch;
  launch.set_app_id("app-20260101000000-0000");
  launch.set_executor_id(0);
  launch.set_cores(1);
  launch.set_memory_mb(512);
  launch.set_driver_address("127.0.0.1:1");
  launch.set_binary_digest(std::string(64, 'a'));
  out["/kiln.proto.Worker/LaunchExecutor"] = launch.SerializeAsString();
  proto::ApplicationFinishedRequest finished;
  finished.set_app_id("app-20260101000000-0000");
  out["/kiln.proto.Worker/ApplicationFinished"] = finished.SerializeAsString();
  proto::FetchBinaryRequest fetch;
  fetch.set_app_id("app-1");
  fetch.set_digest("abc123");
  out["/kiln.proto.Driver/FetchBinary"] = fetch.SerializeAsString();
  proto::ExecutorMessage hello;
  hello.mutable_register_()->set_app_id("app-1");
  hello.mutable_register_()->set_executor_id(7);
  hello.mutable_register_()->set_cores(2);
  hello.mutable_register_()->set_binary_digest("abc123");
  out["/kiln.proto.Driver/Connect"] = hello.SerializeAsString();
  return out;
}

TEST_CASE(
    "security: every method of every service refuses a caller without the secret or with "
    "a wrong one, and changes nothing",
    "[security]") {
  TempDir dir("kiln-auth-");
  const std::string secret_file = WriteSecretFile(dir, kTestSecret);
  MiniCluster cluster(
      {.num_workers = 1,
       .conf = {"kiln.authenticate=true", "kiln.authenticate.secretFile=" + secret_file}});
  REQUIRE_OK(cluster.Start());
  const Json before = cluster.MasterState();
  REQUIRE(before["workers"].size() == 1);
  const std::string worker_id = before["workers"][0].value("id", "");

  // A driver's service, in this process, behind the same secret.
  const auto security =
      std::make_shared<const rpc::Security>(rpc::Credentials{.secret = kTestSecret});
  InProcessDriver driver(dir, security, "app-1", "token-of-app-1");

  const std::vector<Target> targets = {
      {std::string(proto::Master::service_full_name()),
       StrCat("127.0.0.1:", cluster.master_port())},
      {std::string(proto::Worker::service_full_name()),
       StrCat("127.0.0.1:", cluster.worker_port(0))},
      {std::string(proto::Driver::service_full_name()), StrCat("127.0.0.1:", driver.port())},
  };
  const std::map<std::string, std::string> requests = HarmfulRequests(worker_id);
  const auto wrong = std::make_shared<const rpc::Security>(
      rpc::Credentials{.secret = "a-wrong-secret-of-enough-length"});
  int methods = 0;
  for (const Target& target : targets) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(target.service);
    REQUIRE(service != nullptr);
    REQUIRE(service->method_count() > 0);
    for (int m = 0; m < service->method_count(); ++m) {
      const std::string method = StrCat("/", target.service, "/", service->method(m)->name());
      auto it = requests.find(method);
      const std::string request = it != requests.end() ? it->second : "";
      for (const auto& [who, channel] :
           std::vector<std::pair<std::string, std::shared_ptr<grpc::Channel>>>{
               {"no secret", rpc::MakeChannel(target.address)},
               {"a wrong secret", rpc::MakeChannel(target.address, 256 << 20, wrong)}}) {
        grpc::Status status = CallRaw(channel, method, request);
        INFO(method << " with " << who << ": " << status.error_code() << " "
                    << status.error_message());
        CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
      }
      ++methods;
    }
  }
  CHECK(methods >= 25);  // Master 15, Worker 7, Driver 3 today

  // Inside the door (with the secret) a caller still cannot act for others: ending the
  // real worker, launching on it, fetching the driver's binary need the token of the
  // worker or of an executor the master granted.
  for (const std::string method :
       {"/kiln.proto.Master/UnregisterWorker", "/kiln.proto.Worker/LaunchExecutor",
        "/kiln.proto.Worker/ApplicationFinished", "/kiln.proto.Driver/FetchBinary",
        "/kiln.proto.Master/FetchDriverBinary", "/kiln.proto.Worker/LaunchDriver",
        "/kiln.proto.Worker/KillDriver"}) {
    const std::string address = AddressOf(targets, method);
    grpc::Status status = CallRaw(rpc::MakeChannel(address, 256 << 20, security), method,
                                  requests.count(method) > 0 ? requests.at(method) : "");
    INFO(method << " with the secret, without a token: " << status.error_code() << " "
                << status.error_message());
    CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  }

  // Nothing happened: the one real worker is ALIVE, no application was registered, no
  // executor started, the driver admitted no executor and served no binary.
  const Json after = cluster.MasterState();
  INFO(after.dump(1));
  REQUIRE(after["workers"].size() == 1);
  CHECK(after["workers"][0].value("state", "") == "ALIVE");
  CHECK(after["activeapps"].empty());
  CHECK(after["completedapps"].empty());
  CHECK(cluster.ExecutorPids().empty());
  for (const std::string& name : ListDir(cluster.worker_work_dir(0))) {
    CHECK_FALSE(name.starts_with("app-"));
  }
  CHECK(ListDir(cluster.worker_work_dir(0) + "/binaries").empty());
  CHECK(driver.ExecutorCount() == 0);

  // The same calls with the secret are dispatched (so the refusals above came from the
  // check, not from a server that refuses everything).
  for (const std::string& method : {std::string("/kiln.proto.Master/ApplicationHeartbeat"),
                                    std::string("/kiln.proto.Worker/KillExecutor"),
                                    std::string("/kiln.proto.Driver/ExecutorFailed")}) {
    const std::string address = AddressOf(targets, method);
    grpc::Status status = CallRaw(rpc::MakeChannel(address, 256 << 20, security), method, "");
    INFO(method << ": " << status.error_code() << " " << status.error_message());
    CHECK(status.error_code() != grpc::StatusCode::UNAUTHENTICATED);
  }
  REQUIRE_OK(cluster.CheckNoLeaks());
}

TEST_CASE(
    "security: shuffle requests cannot reach outside an application's dir, and names "
    "and settings with shell syntax stay inert",
    "[security]") {
  TempDir dir("kiln-inert-");
  MiniCluster cluster({.num_workers = 1});
  REQUIRE_OK(cluster.Start());
  const std::string work = cluster.worker_work_dir(0);
  WriteTestFile(work + "/../outside-secret.txt", "do not serve");
  WorkerClient client({.address = StrCat("127.0.0.1:", cluster.worker_port(0))});
  struct Probe {
    std::string app_id;
    int shuffle = 0, reduce = 0, map = 0;
  };
  const std::vector<Probe> probes = {{"../outside-secret.txt"},
                                     {"/etc"},
                                     {"%2e%2e"},
                                     {"app-20260101000000-0000/../.."},
                                     {std::string("app-20260101000000-0000\0x", 25)},
                                     {"app-20260101000000-0000", -1},
                                     {"app-20260101000000-0000", 0, -5},
                                     {"app-20260101000000-0000", 0, 0, -2},
                                     {"app-20260101000000-0000", INT32_MAX, INT32_MAX, INT32_MAX},
                                     {"binaries"},
                                     {""}};
  for (const Probe& p : probes) {
    proto::FetchShuffleBlocksRequest request;
    request.set_app_id(p.app_id);
    request.set_shuffle_id(p.shuffle);
    request.set_reduce_id(p.reduce);
    request.add_map_ids(p.map);
    int chunks = 0;
    absl::Status status = client.FetchShuffleBlocks(request, seconds(10), [&](const auto&) {
      ++chunks;
      return absl::OkStatus();
    });
    INFO("app_id '" << p.app_id << "' shuffle " << p.shuffle << " reduce " << p.reduce << " map "
                    << p.map << ": " << status);
    CHECK(chunks == 0);
    CHECK((absl::IsInvalidArgument(status) || absl::IsNotFound(status)));
    CHECK(std::string(status.message()).find(work) == std::string::npos);  // no absolute path
  }

  // Shell syntax in a name and in a setting: the job runs, nothing is executed.
  const std::string canary = dir.Sub("canary");
  const std::string name = StrCat("job; touch ", canary, "1 $(touch ", canary, "2) `touch ", canary,
                                  "3` | touch ", canary, "4 && echo \"'");
  WriteTestFile(dir.Sub("words.txt"), "b a b\n");
  CommandResult run =
      Submit(cluster.master_url(), {"--name", name, "--conf", "kiln.local.dir=" + canary + "$(x)"},
             BinPath("wordcount"), {dir.Sub("words.txt"), dir.Sub("out")});
  INFO(run.ToString());
  REQUIRE(run.exit_code == 0);
  CHECK(SortedLines(ReadParts(dir.Sub("out"))) == std::vector<std::string>{"a\t1", "b\t2"});
  for (int i = 1; i <= 4; ++i) CHECK_FALSE(PathExists(StrCat(canary, i)));
  const Json state = cluster.MasterState();
  REQUIRE(state["completedapps"].size() == 1);
  CHECK(state["completedapps"][0].value("name", "") == name);  // kept verbatim
  REQUIRE_OK(CheckClusterIdle(cluster));
}

// The words of `pid`'s command line or environment (NUL-separated in /proc), joined.
std::string ProcText(pid_t pid, const char* what) {
  return ReadFile(StrCat("/proc/", pid, "/", what)).value_or("");
}

TEST_CASE(
    "security: a job runs on an authenticated cluster with exact results, and the secret "
    "shows in no command line, executor environment, log or page",
    "[security]") {
  TempDir dir("kiln-auth-job-");
  WriteTestFile(dir.Sub("reference.go"), "");
  CommandResult reference =
      Submit("local[2]", {}, AppPath("slow_app"), {dir.Sub("reference"), "cached"});
  INFO(reference.ToString());
  REQUIRE(reference.exit_code == 0);

  // The daemons take the secret from their environment, the driver from a file.
  const std::string secret_file = WriteSecretFile(dir, kTestSecret);
  MiniCluster cluster({.num_workers = 2,
                       .conf = {"kiln.authenticate=true"},
                       .env = {StrCat(rpc::kSecretEnvVar, "=", kTestSecret)}});
  REQUIRE_OK(cluster.Start());

  // Without the secret the application is refused at once, with one clear line.
  WriteTestFile(dir.Sub("words.txt"), "a b a\n");
  CommandResult refused = Submit(cluster.master_url(), {}, BinPath("wordcount"),
                                 {dir.Sub("words.txt"), dir.Sub("refused")});
  INFO(refused.ToString());
  CHECK(refused.exit_code != 0);
  CHECK_THAT(refused.err, Catch::Contains("refused this application") &&
                              Catch::Contains("requires authentication"));

  BackgroundSubmit submit(cluster.master_url(), dir, {dir.Sub("out"), "cached"},
                          {"KILN_CONF_kiln_authenticate=true",
                           StrCat("KILN_CONF_kiln_authenticate_secretFile=", secret_file)});
  REQUIRE(WaitFor([&] { return ReadFile(dir.Sub("submit.out")).value_or("") == "cached 97\n"; },
                  seconds(60)));
  // Executors are running now: their command lines and environments hold no secret, nor
  // do the daemons' command lines.
  const std::vector<pid_t> executors = cluster.ExecutorPids();
  CHECK(executors.size() == 2);
  for (pid_t pid : executors) {
    CHECK(ProcText(pid, "cmdline").find("--kiln-executor") != std::string::npos);
    CHECK(ProcText(pid, "cmdline").find(kTestSecret) == std::string::npos);
    const std::string environ = ProcText(pid, "environ");
    CHECK_FALSE(environ.empty());
    CHECK(environ.find(kTestSecret) == std::string::npos);
  }
  std::vector<pid_t> daemons = {cluster.master_pid(), cluster.worker_pid(0), cluster.worker_pid(1),
                                submit.pid()};
  for (pid_t pid : daemons) CHECK(ProcText(pid, "cmdline").find(kTestSecret) == std::string::npos);
  std::vector<std::string> pages = {cluster.MasterState().dump()};
  for (int port : cluster.worker_ui_ports()) {
    for (const char* path : {"/json", "/"}) {
      absl::StatusOr<std::string> page = HttpGet("127.0.0.1", port, path);
      REQUIRE_OK(page.status());
      pages.push_back(*page);
    }
  }
  absl::StatusOr<std::string> master_page = HttpGet("127.0.0.1", cluster.master_ui_port(), "/");
  REQUIRE_OK(master_page.status());
  pages.push_back(*master_page);
  for (const std::string& page : pages) CHECK(page.find(kTestSecret) == std::string::npos);

  WriteTestFile(dir.Sub("out.go"), "");
  ExpectSameOutput(submit, dir, cluster);

  // No log of any process (daemons, executors, driver) holds it.
  std::error_code ec;
  int files = 0;
  for (const std::string& root : {cluster.temp_dir(), dir.path()}) {
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::end(it); it.increment(ec)) {
      if (!it->is_regular_file() || it->path() == secret_file) continue;
      const std::string name = it->path().filename().string();
      if (name.find("log") == std::string::npos && name != "stdout" && name != "stderr" &&
          !name.starts_with("submit")) {
        continue;
      }
      ++files;
      INFO(it->path());
      CHECK(ReadFile(it->path().string()).value_or("").find(kTestSecret) == std::string::npos);
    }
  }
  CHECK(files >= 5);  // master, 2 workers, the driver's out and err, executors' logs
}

TEST_CASE(
    "security: a driver in cluster deploy mode authenticates with its worker's credentials, "
    "and the secret shows in no driver argv, environment or log",
    "[security]") {
  TempDir dir("kiln-auth-cluster-mode-");
  MiniCluster cluster({.num_workers = 2,
                       .conf = {"kiln.authenticate=true"},
                       .env = {StrCat(rpc::kSecretEnvVar, "=", kTestSecret)}});
  REQUIRE_OK(cluster.Start());
  WriteTestFile(dir.Sub("words.txt"), "a b a\nc\n");
  auto kiln_submit = [&](std::vector<std::string> args, std::vector<std::string> env) {
    std::vector<std::string> argv = {BinPath("kiln-submit"), "--master", cluster.master_url()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, seconds(30), env);
  };
  // Without the secret the upload is refused, naming the master.
  CommandResult refused = kiln_submit(
      {"--deploy-mode", "cluster", BinPath("wordcount"), dir.Sub("words.txt"), dir.Sub("refused")},
      {"KILN_CONF_kiln_authenticate=false"});
  INFO(refused.ToString());
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err,
             Catch::Contains("cannot upload") && Catch::Contains("requires authentication"));

  // kiln-submit holds the secret in its environment only: the driver, on a worker, gets
  // none of it but its worker's credentials on its stdin.
  const std::vector<std::string> with_secret = {"KILN_CONF_kiln_authenticate=true",
                                                StrCat(rpc::kSecretEnvVar, "=", kTestSecret)};
  CommandResult submitted = kiln_submit(
      {"--deploy-mode", "cluster", BinPath("wordcount"), dir.Sub("words.txt"), dir.Sub("out")},
      with_secret);
  INFO(submitted.ToString());
  REQUIRE(submitted.exit_code == 0);
  const std::string id = SplitLines(submitted.out).at(0);
  std::string status;
  CHECK(WaitFor(
      [&] {
        status = kiln_submit({"--status", id}, with_secret).out;
        return status.starts_with(id + " FINISHED");
      },
      seconds(60)));
  INFO(status);
  CHECK(SortedLines(ReadParts(dir.Sub("out"))) == std::vector<std::string>{"a\t2", "b\t1", "c\t1"});
  int files = 0;
  for (const std::string& work : cluster.worker_work_dirs()) {
    for (const char* name : {"stdout", "stderr"}) {
      const std::string path = StrCat(work, "/", id, "/", name);
      if (!PathExists(path)) continue;
      ++files;
      CHECK(ReadTestFile(path).find(kTestSecret) == std::string::npos);
    }
  }
  CHECK(files == 2);
  CHECK(cluster.MasterState().dump().find(kTestSecret) == std::string::npos);
}

// A CA, a certificate for 127.0.0.1 signed by it (every process uses it, as server and
// client), and a second CA that signed nothing of the cluster's. Made with openssl(1).
void MakeCertificates(const TempDir& dir) {
  WriteTestFile(dir.Sub("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  const std::string script =
      StrCat("set -e; cd ", dir.path(), "\n",
             "for ca in ca other-ca; do openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
             "-subj /CN=$ca -keyout $ca.key -out $ca.pem 2>/dev/null; done\n",
             "openssl req -new -newkey rsa:2048 -nodes -subj /CN=kiln-node -keyout node.key "
             "-out node.csr 2>/dev/null\n",
             "openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
             "-extfile san.ext -out node.pem 2>/dev/null\n");
  CommandResult made = RunCommand({"sh", "-c", script}, seconds(60));
  INFO(made.ToString());
  REQUIRE(made.exit_code == 0);
}

TEST_CASE(
    "security: with kiln.ssl.* every connection is TLS with client certificates, and plaintext, "
    "a wrong CA and no client certificate are refused",
    "[security][tls]") {
  TempDir dir("kiln-tls-");
  MakeCertificates(dir);
  const std::string secret_file = WriteSecretFile(dir, kTestSecret);
  const std::vector<std::string> conf = {"kiln.authenticate=true",
                                         "kiln.authenticate.secretFile=" + secret_file,
                                         "kiln.ssl.enabled=true",
                                         "kiln.ssl.certFile=" + dir.Sub("node.pem"),
                                         "kiln.ssl.keyFile=" + dir.Sub("node.key"),
                                         "kiln.ssl.caFile=" + dir.Sub("ca.pem")};
  MiniCluster cluster({.num_workers = 2, .conf = conf});
  REQUIRE_OK(cluster.Start());
  CHECK_THAT(ReadTestFile(cluster.master_log()),
             Catch::Contains("authentication on, TLS on, with client certificates"));

  // A job: the driver, the executors (with their worker's certificate) and the shuffle
  // all speak TLS.
  const std::string text = GenerateText(/*seed=*/7, /*lines=*/2000);
  WriteTestFile(dir.Sub("input.txt"), text);
  std::vector<std::string> flags;
  for (const std::string& c : conf) {
    flags.push_back("--conf");
    flags.push_back(c);
  }
  CommandResult run = Submit(cluster.master_url(), flags, BinPath("wordcount"),
                             {dir.Sub("input.txt"), dir.Sub("out")});
  INFO(run.ToString());
  REQUIRE(run.exit_code == 0);
  WordCounts expected;
  CountWords(text, &expected);
  CHECK(SortedLines(ReadParts(dir.Sub("out"))) == WordCountLines(expected));

  const std::string master = StrCat("127.0.0.1:", cluster.master_port());
  const std::string ca = ReadTestFile(dir.Sub("ca.pem"));
  const std::string cert = ReadTestFile(dir.Sub("node.pem"));
  const std::string key = ReadTestFile(dir.Sub("node.key"));
  auto call = [&](rpc::Credentials credentials) {
    return CallRaw(rpc::MakeChannel(master, 256 << 20,
                                    std::make_shared<const rpc::Security>(std::move(credentials))),
                   "/kiln.proto.Master/ApplicationHeartbeat", "");
  };
  const grpc::Status good =
      call({.secret = kTestSecret, .tls = true, .cert_pem = cert, .key_pem = key, .ca_pem = ca});
  INFO("good: " << good.error_code() << " " << good.error_message());
  CHECK(good.error_code() != grpc::StatusCode::UNAVAILABLE);
  CHECK(good.error_code() != grpc::StatusCode::UNAUTHENTICATED);
  const std::map<std::string, rpc::Credentials> refused = {
      {"plaintext", {.secret = kTestSecret}},
      {"a wrong CA",
       {.secret = kTestSecret,
        .tls = true,
        .cert_pem = cert,
        .key_pem = key,
        .ca_pem = ReadTestFile(dir.Sub("other-ca.pem"))}},
      {"no client certificate", {.secret = kTestSecret, .tls = true, .ca_pem = ca}},
  };
  for (const auto& [how, credentials] : refused) {
    const grpc::Status status = call(credentials);
    INFO(how << ": " << status.error_code() << " " << status.error_message());
    CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  REQUIRE_OK(CheckClusterIdle(cluster));
}

}  // namespace
}  // namespace kiln::test::jobs
