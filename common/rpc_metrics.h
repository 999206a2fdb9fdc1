#pragma once
// RpcMetrics: how many calls each gRPC method of a server answered, with which status
// code, and how long they took (a histogram; a streaming call counts from its start to its
// status). Filled by a server interceptor (ServerOptions::metrics) and written into
// GET /metrics as kiln_rpc_server_calls_total and kiln_rpc_server_duration_seconds.
// Thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics_text.h"
#include "grpcpp/support/server_interceptor.h"

namespace kiln {

class RpcMetrics {
 public:
  // Upper bounds of the duration buckets, in seconds.
  static const std::vector<double>& DurationBounds();

  // One call of `method` ("/kiln.proto.Master/RegisterWorker") ended with `code` (a
  // grpc::StatusCode's name, "OK") after `seconds`.
  void Record(const std::string& method, const std::string& code, double seconds);
  void Write(MetricsText* out) const;

  // The interceptor factory that records each call of a server here (not owned).
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

 private:
  struct Method {
    std::map<std::string, uint64_t> calls_by_code;
    HistogramData duration{DurationBounds()};
  };
  mutable absl::Mutex mu_;
  std::map<std::string, Method> methods_ ABSL_GUARDED_BY(mu_);
};

// "OK", "UNAVAILABLE", ...
std::string StatusCodeName(int code);

}  // namespace kiln
