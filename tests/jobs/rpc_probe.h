#pragma once
// Calling a Kiln daemon as an outsider would: any method by its path, with raw request
// bytes, over a channel with or without the cluster's secret (the security and fuzz
// tests). Not thread-safe (one test thread).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/rpc.h"
#include "common/rpc_security.h"
#include "driver/driver_service.h"
#include "driver/task_scheduler.h"
#include "grpcpp/grpcpp.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {

inline constexpr char kTestSecret[] = "kiln-test-secret-4d1f0c9a2b7e";

// DIR/secret holding `secret`, mode 600; its path.
std::string WriteSecretFile(const TempDir& dir, const std::string& secret);

// One call of `method` ("/kiln.proto.Master/RegisterWorker") with `request` as its only
// message, whatever the method's kind (unary and streaming calls are the same on the
// wire); every reply is read and dropped; bounded by 10 s. The status it ends with.
grpc::Status CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     const std::string& request);

// A service (its full name, "kiln.proto.Master") at an address ("127.0.0.1:PORT").
struct Target {
  std::string service;
  std::string address;
};
// The address of the target serving `method` ("/kiln.proto.Master/RegisterWorker").
std::string AddressOf(const std::vector<Target>& targets, std::string_view method);

// A driver's service in this process, on 127.0.0.1 behind `security`, for application
// `app_id` whose token is `app_token`; it serves a stand-in binary of digest "abc123".
// Stopped on destruction.
class InProcessDriver {
 public:
  InProcessDriver(const TempDir& dir, std::shared_ptr<const rpc::Security> security,
                  const std::string& app_id, const std::string& app_token);
  ~InProcessDriver();
  InProcessDriver(const InProcessDriver&) = delete;
  InProcessDriver& operator=(const InProcessDriver&) = delete;

  int port() const { return server_.port; }
  // Executors it admitted.
  int ExecutorCount() const { return tasks_.ExecutorCount(); }

 private:
  internal::TaskScheduler tasks_;
  std::unique_ptr<internal::DriverService> service_;
  rpc::RunningServer server_;
};

}  // namespace kiln::test::jobs
