#include "common/rpc_metrics.h"

#include <chrono>
#include <vector>

namespace kiln {
namespace {

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(RpcMetrics* metrics, std::string method)
      : metrics_(metrics), method_(std::move(method)), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start_;
      metrics_->Record(method_, StatusCodeName(methods->GetSendStatus().error_code()),
                       took.count());
    }
    methods->Proceed();
  }

 private:
  RpcMetrics* const metrics_;
  const std::string method_;
  const std::chrono::steady_clock::time_point start_;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(RpcMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(metrics_, info->method() != nullptr ? info->method() : "");
  }

 private:
  RpcMetrics* const metrics_;
};

}  // namespace

std::string StatusCodeName(int code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int>(std::size(kNames))) return "UNKNOWN";
  return kNames[code];
}

const std::vector<double>& RpcMetrics::DurationBounds() {
  static const std::vector<double> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return kBounds;
}

void RpcMetrics::Record(const std::string& method, const std::string& code, double seconds) {
  absl::MutexLock lock(&mu_);
  Method& m = methods_[method];
  ++m.calls_by_code[code];
  m.duration.Observe(seconds);
}

void RpcMetrics::Write(MetricsText* out) const {
  absl::MutexLock lock(&mu_);
  out->Family("kiln_rpc_server_calls_total", "counter",
              "gRPC calls this process answered, by method and status code.");
  for (const auto& [method, m] : methods_) {
    for (const auto& [code, n] : m.calls_by_code) {
      out->Sample("kiln_rpc_server_calls_total", {{"method", method}, {"code", code}},
                  static_cast<double>(n));
    }
  }
  out->Family("kiln_rpc_server_duration_seconds", "histogram",
              "How long gRPC calls took, from their start to their status, by method.");
  for (const auto& [method, m] : methods_) {
    m.duration.Write(out, "kiln_rpc_server_duration_seconds", {{"method", method}});
  }
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RpcMetrics::InterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(this);
}

}  // namespace kiln
