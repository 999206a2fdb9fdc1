// DriverRunner with real processes: a shell script stands in for the application's
// binary (served by a fake fetch into a real BinaryCache), and the reports to the master
// are recorded. Covers RUNNING then FINISHED, FAILED with the stderr tail, kills (also
// of a driver that ignores SIGTERM, and of one whose binary is still being fetched),
// relaunches keeping earlier logs, the process contract (settings, id, credentials on
// stdin), launch errors, Running() and Stop().

#include "worker/driver_runner.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/files.h"
#include "common/settings.h"
#include "common/strings.h"
#include "common/wait.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln::worker {
namespace {

using test::Message;

constexpr std::chrono::seconds kDriverWait{20};

// $1 picks what the "driver" does; it runs in its own dir.
const std::string kDriverScript = R"(#!/bin/sh
case "$1" in
  record)
    cat > stdin.bin
    printf '%s' "$KILN_SUBMIT_CONF" > conf.txt
    printf '%s' "$KILN_DRIVER_ID" > id.txt
    printf '%s' "$KILN_CREDENTIALS_ON_STDIN" > on-stdin.txt
    printf '%s' "${KILN_AUTH_SECRET-unset}" > secret.txt
    shift
    printf '%s\n' "$@" > args.txt
    pwd > pwd.txt
    echo "recorded"
    exit 0 ;;
  fail)
    echo "warming up" >&2
    echo "$3" >&2
    printf '\n' >&2
    exit "$2" ;;
  sleep)
    exec sleep 60 ;;
  stubborn)
    trap '' TERM
    : > ready
    while :; do sleep 0.05; done ;;
esac
exit 99
)";

class DriverRunnerFixture {
 public:
  DriverRunnerFixture()
      : cache_(dir_.Sub("work/binaries"),
               [this](const BinarySource& source, const std::string&, const std::string& dest) {
                 return Fetch(source, dest);
               }),
        runner_({.work_dir = dir_.Sub("work"),
                 .worker_id = "worker-test",
                 .worker_token = "worker-token",
                 .host = "worker-host.example",
                 .kill_grace = std::chrono::milliseconds(300),
                 .tick = std::chrono::milliseconds(20),
                 .credentials = {.secret = "0123456789abcdef-driver-secret"},
                 .send = [this](const proto::DriverStateChangedRequest& r) { return Record(r); }},
                &cache_, &processes_) {
    REQUIRE_OK(WriteFileAtomic(dir_.Sub("script"), kDriverScript));
    auto digest = Sha256File(dir_.Sub("script"));
    REQUIRE_OK(digest);
    digest_ = *digest;
    runner_.Start();
  }

  DriverRunner& runner() { return runner_; }
  const std::string& digest() const { return digest_; }
  std::string DriverDir(const std::string& id) const { return dir_.Sub("work/" + id); }

  proto::LaunchDriverRequest Request(const std::string& id, std::vector<std::string> args,
                                     int attempt = 0) const {
    proto::LaunchDriverRequest r;
    r.set_driver_id(id);
    r.set_attempt(attempt);
    r.set_name("pi");
    r.set_cores(2);
    r.set_memory_mb(768);
    r.set_binary_digest(digest_);
    r.set_binary_size(static_cast<int64_t>(kDriverScript.size()));
    for (std::string& a : args) r.add_args(std::move(a));
    r.set_conf("kiln.app.name=pi\n");
    r.set_worker_token("worker-token");
    return r;
  }

  // The reports on driver `id`, in the order sent.
  std::vector<proto::DriverStateChangedRequest> Reports(const std::string& id) {
    absl::MutexLock lock(&mu_);
    std::vector<proto::DriverStateChangedRequest> out;
    for (const auto& r : reports_) {
      if (r.driver_id() == id) out.push_back(r);
    }
    return out;
  }
  // The first report of `state` on attempt `attempt` of `id`, waiting for it.
  std::optional<proto::DriverStateChangedRequest> AwaitState(const std::string& id,
                                                             proto::DriverState state,
                                                             int attempt = 0) {
    std::optional<proto::DriverStateChangedRequest> found;
    WaitFor(
        [&] {
          for (const auto& r : Reports(id)) {
            if (r.state() == state && r.attempt() == attempt) found = r;
          }
          return found.has_value();
        },
        kDriverWait);
    return found;
  }

  // Makes the next fetches wait for `gate` (after notifying `entered`) / fail with
  // `error` / serve `bytes` instead of the script.
  void GateFetches(absl::Notification* entered, absl::Notification* gate) {
    absl::MutexLock lock(&mu_);
    fetch_entered_ = entered;
    fetch_gate_ = gate;
  }
  void FailFetches(absl::Status error) {
    absl::MutexLock lock(&mu_);
    fetch_error_ = std::move(error);
  }
  void ServeBytes(std::string bytes) {
    absl::MutexLock lock(&mu_);
    served_ = std::move(bytes);
  }
  std::vector<BinarySource> fetches() {
    absl::MutexLock lock(&mu_);
    return fetches_;
  }

 private:
  absl::Status Fetch(const BinarySource& source, const std::string& dest) {
    absl::Notification* entered;
    absl::Notification* gate;
    absl::Status error;
    std::string bytes;
    {
      absl::MutexLock lock(&mu_);
      fetches_.push_back(source);
      entered = fetch_entered_;
      gate = fetch_gate_;
      error = fetch_error_;
      bytes = served_.empty() ? kDriverScript : served_;
    }
    if (entered != nullptr) entered->Notify();
    if (gate != nullptr) gate->WaitForNotification();
    if (!error.ok()) return error;
    return WriteFileAtomic(dest, bytes);
  }
  absl::Status Record(const proto::DriverStateChangedRequest& report) {
    absl::MutexLock lock(&mu_);
    reports_.push_back(report);
    return absl::OkStatus();
  }

  test::TempDir dir_;
  std::string digest_;
  absl::Mutex mu_;
  std::vector<proto::DriverStateChangedRequest> reports_ ABSL_GUARDED_BY(mu_);
  std::vector<BinarySource> fetches_ ABSL_GUARDED_BY(mu_);
  absl::Notification* fetch_entered_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Notification* fetch_gate_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Status fetch_error_ ABSL_GUARDED_BY(mu_);
  std::string served_ ABSL_GUARDED_BY(mu_);
  RealProcessControl processes_;
  BinaryCache cache_;
  DriverRunner runner_;  // last: stopped first
};

std::string ReadDriverFile(const std::string& path) {
  auto text = ReadFile(path);
  INFO(path << ": " << text.status().ToString());
  REQUIRE_OK(text);
  return *text;
}

TEST_CASE("a driver runs from its binary, RUNNING then FINISHED, with its contract",
          "[worker][drivers]") {
  // The worker's own secret and a stale id in its environment reach no driver.
  REQUIRE(setenv("KILN_AUTH_SECRET", "worker-secret-value", 1) == 0);
  REQUIRE(setenv("KILN_DRIVER_ID", "driver-stale", 1) == 0);
  DriverRunnerFixture f;
  const std::string id = "driver-20240101120000-0001";
  REQUIRE_OK(f.runner().Launch(f.Request(id, {"record", "--in", "a b"})));
  const auto finished = f.AwaitState(id, proto::DRIVER_FINISHED);
  unsetenv("KILN_AUTH_SECRET");
  unsetenv("KILN_DRIVER_ID");
  REQUIRE(finished.has_value());

  const auto reports = f.Reports(id);
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].state() == proto::DRIVER_RUNNING);
  CHECK(reports[0].message().find("worker-test") != std::string::npos);
  for (const auto& r : reports) {
    CHECK(r.worker_id() == "worker-test");
    CHECK(r.worker_token() == "worker-token");
    CHECK(r.attempt() == 0);
  }
  CHECK(reports[1].exit_code() == 0);

  const std::string dir = f.DriverDir(id);
  CHECK(ReadDriverFile(dir + "/pwd.txt") == dir + "\n");
  CHECK(ReadDriverFile(dir + "/stdout") == "recorded\n");
  CHECK(ReadDriverFile(dir + "/args.txt") == "--in\na b\n");
  CHECK(ReadDriverFile(dir + "/id.txt") == id);
  CHECK(ReadDriverFile(dir + "/on-stdin.txt") == "1");
  CHECK(ReadDriverFile(dir + "/secret.txt") == "unset");
  auto credentials = rpc::DecodeCredentials(ReadDriverFile(dir + "/stdin.bin"));
  REQUIRE_OK(credentials);
  CHECK(credentials->secret == "0123456789abcdef-driver-secret");
  auto conf = Config::Deserialize(ReadDriverFile(dir + "/conf.txt"));
  REQUIRE_OK(conf);
  CHECK(conf->GetString("kiln.app.name") == "pi");
  CHECK(conf->GetString("kiln.driver.host") == "worker-host.example");

  // Fetched once, from the master; the driver's link to it goes when it ends.
  const auto fetches = f.fetches();
  REQUIRE(fetches.size() == 1);
  CHECK(fetches[0].from_master);
  CHECK(fetches[0].size == static_cast<int64_t>(kDriverScript.size()));
  CHECK(access((dir + "/binary").c_str(), F_OK) != 0);
  CHECK(f.runner().Running().empty());
  const DriverSnapshot snapshot = f.runner().Snapshot();
  CHECK(snapshot.active.empty());
  REQUIRE(snapshot.finished.size() == 1);
  CHECK(snapshot.finished[0].state == "FINISHED");
  CHECK(snapshot.finished[0].start_unix_ms > 0);
}

TEST_CASE("a driver that exits 3 is FAILED with code 3 and its last stderr line",
          "[worker][drivers]") {
  DriverRunnerFixture f;
  const std::string id = "driver-20240101120000-0002";
  REQUIRE_OK(f.runner().Launch(f.Request(id, {"fail", "3", "Exception: no input file"})));
  const auto failed = f.AwaitState(id, proto::DRIVER_FAILED);
  REQUIRE(failed.has_value());
  CHECK(failed->exit_code() == 3);
  CHECK(failed->message() ==
        "exited with code 3; last line of its stderr: Exception: no input file");
  REQUIRE(f.Reports(id).size() == 2);
  CHECK(f.Reports(id)[0].state() == proto::DRIVER_RUNNING);
}

TEST_CASE("a killed driver is KILLED, and one that ignores SIGTERM gets SIGKILL after the grace",
          "[worker][drivers]") {
  DriverRunnerFixture f;
  const std::string id = "driver-20240101120000-0003";
  REQUIRE_OK(f.runner().Launch(f.Request(id, {"sleep"})));
  REQUIRE(f.AwaitState(id, proto::DRIVER_RUNNING).has_value());
  // Listed for a re-registration, and refused a second time while it runs.
  const auto running = f.runner().Running();
  REQUIRE(running.size() == 1);
  CHECK(running[0].driver_id() == id);
  CHECK(running[0].cores() == 2);
  CHECK(running[0].memory_mb() == 768);
  const DriverSnapshot snapshot = f.runner().Snapshot();
  REQUIRE(snapshot.active.size() == 1);
  CHECK(snapshot.active[0].state == "RUNNING");
  CHECK(snapshot.active[0].pid > 0);
  CHECK(absl::IsAlreadyExists(f.runner().Launch(f.Request(id, {"sleep"}))));

  f.runner().Kill("driver-20240101120000-9999");  // unknown: nothing happens
  f.runner().Kill(id);
  const auto killed = f.AwaitState(id, proto::DRIVER_KILLED);
  REQUIRE(killed.has_value());
  CHECK(killed->message().find("signal 15") != std::string::npos);
  CHECK(f.runner().Running().empty());
  CHECK(f.Reports("driver-20240101120000-9999").empty());

  const std::string stubborn = "driver-20240101120000-0004";
  REQUIRE_OK(f.runner().Launch(f.Request(stubborn, {"stubborn"})));
  // Once its trap is set: a SIGTERM before would end it at once.
  REQUIRE(WaitFor([&] { return access((f.DriverDir(stubborn) + "/ready").c_str(), F_OK) == 0; },
                  kDriverWait));
  f.runner().Kill(stubborn);
  f.runner().Kill(stubborn);  // a retried kill changes nothing
  const auto forced = f.AwaitState(stubborn, proto::DRIVER_KILLED);
  REQUIRE(forced.has_value());
  CHECK(forced->message().find("signal 9") != std::string::npos);
  CHECK(forced->exit_code() == -9);
  CHECK(f.Reports(stubborn).size() == 2);  // RUNNING, KILLED
}

TEST_CASE("a relaunch keeps the earlier run's logs and reports its attempt", "[worker][drivers]") {
  DriverRunnerFixture f;
  const std::string id = "driver-20240101120000-0005";
  REQUIRE_OK(f.runner().Launch(f.Request(id, {"fail", "4", "run one"})));
  REQUIRE(f.AwaitState(id, proto::DRIVER_FAILED).has_value());
  REQUIRE_OK(f.runner().Launch(f.Request(id, {"fail", "0", "run two"}, /*attempt=*/1)));
  const auto finished = f.AwaitState(id, proto::DRIVER_FINISHED, 1);
  REQUIRE(finished.has_value());
  CHECK(f.AwaitState(id, proto::DRIVER_RUNNING, 1).has_value());

  const std::string dir = f.DriverDir(id);
  const std::string first = ReadDriverFile(dir + "/stderr.0");
  CHECK(first.find("run one") != std::string::npos);
  const std::string second = ReadDriverFile(dir + "/stderr");
  CHECK(second.find("run two") != std::string::npos);
  CHECK(second.find("run one") == std::string::npos);
  CHECK(access((dir + "/stdout.0").c_str(), F_OK) == 0);
  CHECK(f.fetches().size() == 1);  // the binary came from the cache the second time
}

TEST_CASE("a driver killed while its binary is fetched is KILLED and never runs",
          "[worker][drivers]") {
  DriverRunnerFixture f;
  absl::Notification entered, gate;
  f.GateFetches(&entered, &gate);
  const std::string id = "driver-20240101120000-0006";
  REQUIRE_OK(f.runner().Launch(f.Request(id, {"sleep"})));
  REQUIRE(entered.WaitForNotificationWithTimeout(absl::FromChrono(kDriverWait)));
  CHECK(f.runner().Snapshot().active.at(0).state == "LAUNCHING");
  f.runner().Kill(id);
  // Reported at once, while the fetch still hangs.
  const auto killed = f.AwaitState(id, proto::DRIVER_KILLED);
  REQUIRE(killed.has_value());
  CHECK(killed->message() == "killed before it started");
  CHECK(f.runner().Running().empty());
  gate.Notify();
  // The launch ends without spawning anything.
  REQUIRE(WaitFor([&] { return f.runner().Snapshot().active.empty(); }, kDriverWait));
  CHECK(f.Reports(id).size() == 1);
  CHECK(access((f.DriverDir(id) + "/stdout").c_str(), F_OK) != 0);
}

TEST_CASE("a driver whose binary cannot be had is reported ERROR naming the cause",
          "[worker][drivers]") {
  DriverRunnerFixture f;
  f.FailFetches(absl::UnavailableError("master 10.0.0.1:7077 unreachable"));
  const std::string id = "driver-20240101120000-0007";
  REQUIRE_OK(f.runner().Launch(f.Request(id, {"sleep"})));
  const auto error = f.AwaitState(id, proto::DRIVER_ERROR);
  REQUIRE(error.has_value());
  CHECK(error->message().find("master 10.0.0.1:7077 unreachable") != std::string::npos);
  CHECK(f.Reports(id).size() == 1);  // never RUNNING

  f.FailFetches(absl::OkStatus());
  f.ServeBytes("#!/bin/sh\necho not the uploaded binary\n");
  const std::string tampered = "driver-20240101120000-0008";
  REQUIRE_OK(f.runner().Launch(f.Request(tampered, {"sleep"})));
  const auto mismatch = f.AwaitState(tampered, proto::DRIVER_ERROR);
  REQUIRE(mismatch.has_value());
  CHECK(mismatch->message().find("has digest") != std::string::npos);
  CHECK(mismatch->message().find(f.digest()) != std::string::npos);
}

TEST_CASE("bad driver launches are refused naming the field", "[worker][drivers]") {
  DriverRunnerFixture f;
  proto::LaunchDriverRequest bad = f.Request("driver-20240101120000-0009", {});
  bad.set_cores(0);
  absl::Status status = f.runner().Launch(bad);
  CHECK(absl::IsInvalidArgument(status));
  CHECK(Message(status).find("cores") != std::string::npos);
  bad = f.Request("../driver-x", {});
  status = f.runner().Launch(bad);
  CHECK(absl::IsInvalidArgument(status));
  CHECK(Message(status).find("driver_id") != std::string::npos);
  CHECK(f.runner().Snapshot().active.empty());
}

TEST_CASE("a stopping worker ends its drivers without reporting them", "[worker][drivers]") {
  DriverRunnerFixture f;
  const std::string id = "driver-20240101120000-0010";
  REQUIRE_OK(f.runner().Launch(f.Request(id, {"stubborn"})));
  REQUIRE(f.AwaitState(id, proto::DRIVER_RUNNING).has_value());
  REQUIRE(WaitFor([&] { return access((f.DriverDir(id) + "/ready").c_str(), F_OK) == 0; },
                  kDriverWait));
  const pid_t pid = f.runner().Snapshot().active.at(0).pid;
  f.runner().Stop();         // SIGTERM, ignored; SIGKILL after the grace
  CHECK(kill(pid, 0) != 0);  // reaped
  CHECK(f.runner().Snapshot().active.empty());
  CHECK(f.Reports(id).size() == 1);  // RUNNING only: the master decides
  CHECK(absl::IsUnavailable(f.runner().Launch(f.Request("driver-20240101120000-0011", {}))));
}

}  // namespace
}  // namespace kiln::worker
