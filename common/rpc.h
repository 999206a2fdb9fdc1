#pragma once
// gRPC plumbing shared by every process: servers on a chosen or ephemeral port,
// channels, deadlines and status conversion (retries: common/retry.h).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/rpc_security.h"
#include "grpcpp/grpcpp.h"

namespace kiln {
class RpcMetrics;
}

namespace kiln::rpc {

absl::Status ToAbsl(const grpc::Status& status);
grpc::Status ToGrpc(const absl::Status& status);

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 0;  // 0 = ephemeral; the bound port is reported by StartServer
  int64_t max_message_bytes = 256 << 20;
  // gRPC keepalive: a ping after `keepalive_time` without traffic; a peer that does not
  // answer within `keepalive_timeout` (a stopped process, a cut network) loses its
  // connection. The driver waits kiln.network.timeout before it gives up on an executor.
  std::chrono::milliseconds keepalive_time{10'000};
  std::chrono::milliseconds keepalive_timeout{10'000};
  // Authentication and TLS of every call (null = none). A server bound to an address
  // other than loopback without authentication logs a warning.
  std::shared_ptr<const Security> security = nullptr;
  // Where each call's method, status code and duration are counted (GET /metrics);
  // null = nowhere. Not owned; outlives the server.
  RpcMetrics* metrics = nullptr;
};

struct RunningServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

// Builds and starts a server for `services` (not owned; they must outlive it).
// Fails with a message naming host:port when the port cannot be bound.
absl::StatusOr<RunningServer> StartServer(const ServerOptions& options,
                                          const std::vector<grpc::Service*>& services);

// A channel to "host:port" with Kiln's message-size limit and keepalive settings, secured
// by `security` (null = none).
std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& address, int64_t max_message_bytes = 256 << 20,
    const std::shared_ptr<const Security>& security = nullptr);

// A ClientContext with a deadline `timeout` from now.
std::unique_ptr<grpc::ClientContext> ContextWithDeadline(std::chrono::milliseconds timeout);

}  // namespace kiln::rpc
