// Random and random well-typed requests, with the cluster's secret, at a real master and
// worker and at a driver's service: every call is answered, the daemons run on, nothing
// is registered or started.
#include <signal.h>

#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "common/rpc.h"
#include "common/rpc_security.h"
#include "common/strings.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "proto/driver.grpc.pb.h"
#include "proto/master.grpc.pb.h"
#include "proto/worker.grpc.pb.h"
#include "tests/jobs/job_util.h"
#include "tests/jobs/rpc_probe.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

// A random message of type `type`: every field set or not, numbers from small to
// extreme, strings mixing ids, path tricks, NUL and control characters.
void FillRandom(google::protobuf::Message* message, Rng& rng, int depth = 0) {
  static const std::vector<std::string> kStrings = {"",
                                                    "app-20260101000000-0000",
                                                    "../../etc/passwd",
                                                    "/etc",
                                                    "%2e%2e",
                                                    std::string("a\0b", 3),
                                                    "worker-1\nforged",
                                                    std::string(600, 'x'),
                                                    "127.0.0.1:1",
                                                    "binaries",
                                                    "0",
                                                    "-1"};
  static const std::vector<int64_t> kNumbers = {0,         1,         -1,        7,        65536,
                                                INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
  const google::protobuf::Descriptor* type = message->GetDescriptor();
  const google::protobuf::Reflection* r = message->GetReflection();
  using F = google::protobuf::FieldDescriptor;
  for (int i = 0; i < type->field_count(); ++i) {
    const F* f = type->field(i);
    if (rng.Below(3) == 0) continue;
    const int n = f->is_repeated() ? static_cast<int>(rng.Below(4)) : 1;
    for (int k = 0; k < n; ++k) {
      const int64_t number = kNumbers[rng.Below(kNumbers.size())];
      const std::string& text = kStrings[rng.Below(kStrings.size())];
      switch (f->cpp_type()) {
        case F::CPPTYPE_INT32:
          f->is_repeated() ? r->AddInt32(message, f, static_cast<int32_t>(number))
                           : r->SetInt32(message, f, static_cast<int32_t>(number));
          break;
        case F::CPPTYPE_INT64:
          f->is_repeated() ? r->AddInt64(message, f, number) : r->SetInt64(message, f, number);
          break;
        case F::CPPTYPE_UINT32:
        case F::CPPTYPE_UINT64:
        case F::CPPTYPE_DOUBLE:
        case F::CPPTYPE_FLOAT:
          break;  // none in Kiln's protos today
        case F::CPPTYPE_BOOL:
          f->is_repeated() ? r->AddBool(message, f, number & 1)
                           : r->SetBool(message, f, number & 1);
          break;
        case F::CPPTYPE_ENUM:
          f->is_repeated() ? r->AddEnumValue(message, f, static_cast<int>(number % 7))
                           : r->SetEnumValue(message, f, static_cast<int>(number % 7));
          break;
        case F::CPPTYPE_STRING:
          f->is_repeated() ? r->AddString(message, f, text) : r->SetString(message, f, text);
          break;
        case F::CPPTYPE_MESSAGE:
          if (depth < 2) {
            FillRandom(f->is_repeated() ? r->AddMessage(message, f) : r->MutableMessage(message, f),
                       rng, depth + 1);
          }
          break;
      }
    }
  }
}

TEST_CASE(
    "security: thousands of random and random well-typed calls, with the secret, stop no "
    "daemon and change nothing",
    "[security][fuzz]") {
  TempDir dir("kiln-fuzz-");
  const std::string secret_file = WriteSecretFile(dir, kTestSecret);
  MiniCluster cluster(
      {.num_workers = 1,
       .conf = {"kiln.authenticate=true", "kiln.authenticate.secretFile=" + secret_file}});
  REQUIRE_OK(cluster.Start());
  const auto security =
      std::make_shared<const rpc::Security>(rpc::Credentials{.secret = kTestSecret});
  // A driver's service, in this process, behind the same secret.
  InProcessDriver driver(dir, security, "app-20260101000000-0000", "token-of-the-app");
  const std::vector<Target> targets = {
      {std::string(proto::Master::service_full_name()),
       StrCat("127.0.0.1:", cluster.master_port())},
      {std::string(proto::Worker::service_full_name()),
       StrCat("127.0.0.1:", cluster.worker_port(0))},
      {std::string(proto::Driver::service_full_name()), StrCat("127.0.0.1:", driver.port())},
  };
  Rng rng(20261203);
  google::protobuf::DynamicMessageFactory factory;
  int calls = 0;
  for (const Target& target : targets) {
    const auto channel = rpc::MakeChannel(target.address, 256 << 20, security);
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(target.service);
    REQUIRE(service != nullptr);
    for (int m = 0; m < service->method_count(); ++m) {
      const google::protobuf::MethodDescriptor* method = service->method(m);
      const std::string path = StrCat("/", target.service, "/", method->name());
      // Registrations are well-formed by design and would be obeyed: random bytes only.
      const bool registers = method->name().starts_with("Register");
      for (int i = 0; i < 300; ++i) {
        std::string request;
        if (registers || i % 2 == 0) {
          request.resize(rng.Below(200));
          for (char& c : request) c = static_cast<char>(rng.Below(256));
        } else {
          std::unique_ptr<google::protobuf::Message> message(
              factory.GetPrototype(method->input_type())->New());
          FillRandom(message.get(), rng);
          request = message->SerializeAsString();
        }
        grpc::Status status = CallRaw(channel, path, request);
        ++calls;
        INFO(path << " call " << i << ": " << status.error_code() << " " << status.error_message());
        REQUIRE(status.error_code() != grpc::StatusCode::UNAVAILABLE);  // the daemon is up
      }
    }
  }
  CHECK(calls >= 4500);  // 300 per method: Master 7, Worker 5, Driver 3 today
  CHECK(driver.ExecutorCount() == 0);
  CHECK(kill(cluster.master_pid(), 0) == 0);
  CHECK(kill(cluster.worker_pid(0), 0) == 0);
  const Json state = cluster.MasterState();
  INFO(state.dump(1));
  REQUIRE(state["workers"].size() == 1);
  CHECK(state["workers"][0].value("state", "") == "ALIVE");
  CHECK(state["activeapps"].empty());
  CHECK(cluster.ExecutorPids().empty());
  REQUIRE_OK(cluster.CheckNoLeaks());
}

TEST_CASE("security: requests over kiln.rpc.message.maxSize are refused and the daemons serve on",
          "[security][fuzz]") {
  TempDir dir("kiln-oversized-");
  const std::string secret_file = WriteSecretFile(dir, kTestSecret);
  MiniCluster cluster(
      {.num_workers = 1,
       .conf = {"kiln.authenticate=true", "kiln.authenticate.secretFile=" + secret_file,
                "kiln.rpc.message.maxSize=1m"}});
  REQUIRE_OK(cluster.Start());
  const auto security =
      std::make_shared<const rpc::Security>(rpc::Credentials{.secret = kTestSecret});
  const std::string oversized(2 << 20, 'x');
  for (const Target& target : {Target{std::string(proto::Master::service_full_name()),
                                      StrCat("127.0.0.1:", cluster.master_port())},
                               Target{std::string(proto::Worker::service_full_name()),
                                      StrCat("127.0.0.1:", cluster.worker_port(0))}}) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(target.service);
    REQUIRE(service != nullptr);
    for (int m = 0; m < service->method_count(); ++m) {
      const std::string path = StrCat("/", target.service, "/", service->method(m)->name());
      grpc::Status status =
          CallRaw(rpc::MakeChannel(target.address, 256 << 20, security), path, oversized);
      INFO(path << ": " << status.error_code() << " " << status.error_message());
      CHECK(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    }
  }
  const Json state = cluster.MasterState();
  REQUIRE(state["workers"].size() == 1);
  CHECK(state["workers"][0].value("state", "") == "ALIVE");
  REQUIRE_OK(cluster.CheckNoLeaks());
}

}  // namespace
}  // namespace kiln::test::jobs
