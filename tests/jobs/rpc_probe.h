#pragma once
// Calling a Kiln daemon as an outsider would: any method by its path, with raw request
// bytes, over a channel with or without the cluster's secret (the security and fuzz
// tests). Not thread-safe (one test thread).

#include <memory>
#include <string>

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

}  // namespace kiln::test::jobs
