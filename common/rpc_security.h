#pragma once
// What every Kiln process proves and checks on each RPC: a shared secret
// (kiln.authenticate) and TLS (kiln.ssl.*). One Security object per process is handed to
// every server it starts and every channel it opens (rpc::StartServer, rpc::MakeChannel);
// no handler checks anything itself.
//
// Authentication: each call carries "kiln-auth: v1:<unix-ms>:<hex HMAC-SHA256>", the MAC
// of the method's path and the time under the secret. Servers check it before dispatch
// (a gRPC auth metadata processor, so a refused call never reaches a handler) and answer
// UNAUTHENTICATED. The secret itself never crosses the network; a token is valid for one
// method and kMaxClockSkew either side of the server's clock. Without TLS, someone who
// can read the traffic can replay a call within that window (and read its data): turn
// TLS on where the network is not trusted.
//
// Thread-safe: immutable once built.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace kiln {
class Config;
}

namespace kiln::rpc {

inline constexpr std::string_view kAuthMetadataKey = "kiln-auth";
inline constexpr std::chrono::minutes kMaxClockSkew{5};
inline constexpr size_t kMinSecretBytes = 16;
// The environment variable a secret may come from instead of kiln.authenticate.secretFile.
inline constexpr std::string_view kSecretEnvVar = "KILN_AUTH_SECRET";

// The material itself: what a worker hands its executors (through a pipe, see
// EncodeCredentials), and what LoadCredentials reads from files.
struct Credentials {
  std::string secret;  // empty = no authentication
  bool tls = false;
  std::string cert_pem;     // this process's certificate chain (its server; its client
                            // certificate under mutual TLS)
  std::string key_pem;      // the private key of cert_pem
  std::string ca_pem;       // the certificates that sign peers' certificates
  bool client_auth = true;  // servers require a client certificate signed by ca_pem
  // Executors only: the token of this executor from the master (ExecutorToken), which it
  // shows its driver.
  std::string executor_token = {};
};

// Reads kiln.authenticate (+ the secret from kiln.authenticate.secretFile or the
// environment variable KILN_AUTH_SECRET) and kiln.ssl.*. Errors name the setting or file:
// authentication on without a secret, a secret shorter than kMinSecretBytes, TLS on
// without a certificate, key or CA, a file that cannot be read.
absl::StatusOr<Credentials> LoadCredentials(const Config& conf, char** environ);

// `environ` without KILN_AUTH_SECRET: the environment a daemon gives its children.
std::vector<std::string> EnvironmentWithoutSecret(char** environ);

// Credentials as bytes and back (a protobuf message), for the pipe from a worker to the
// executors it starts.
std::string EncodeCredentials(const Credentials& credentials);
absl::StatusOr<Credentials> DecodeCredentials(std::string_view bytes);
// The credentials a worker wrote to this process's stdin (an executor, or a driver it
// runs in cluster deploy mode); stdin is /dev/null afterwards.
absl::StatusOr<Credentials> ReadCredentialsFromStdin();

// The token for a call of `method` ("/kiln.proto.Master/RegisterWorker") at `unix_ms`.
std::string AuthToken(std::string_view secret, std::string_view method, int64_t unix_ms);
// OK when `token` is AuthToken(secret, method, t) with |t - now_unix_ms| within
// kMaxClockSkew; UNAUTHENTICATED with a message saying what is wrong (missing, malformed,
// wrong secret, clock skew) otherwise. Compares in constant time.
absl::Status VerifyAuthToken(std::string_view secret, std::string_view method,
                             std::string_view token, int64_t now_unix_ms);

// Tokens inside the cluster, which say who may make a call rather than whether the caller
// holds the secret: a worker's (its registration, its reports, the master's commands to
// it), an application's (its driver's calls), an executor's (granted by the master).
// 32 random bytes, hex.
std::string RandomToken();
// Constant-time comparison; an empty `expected` matches nothing.
bool TokenMatches(std::string_view expected, std::string_view given);
// The token of executor `executor_id` of the application whose token is `app_token`:
// the master computes it for the launch, the driver to check it.
std::string ExecutorToken(std::string_view app_token, int executor_id);

class Security {
 public:
  explicit Security(Credentials credentials) : credentials_(std::move(credentials)) {}

  // No authentication, plaintext: what a process gets when nothing is configured.
  static std::shared_ptr<const Security> None();

  bool authenticates() const { return !credentials_.secret.empty(); }
  bool tls() const { return credentials_.tls; }
  const Credentials& credentials() const { return credentials_; }
  // "authentication on, TLS with client certificates" (for a daemon's start line).
  std::string Describe() const;

  // Server credentials: TLS or plaintext, checking each call's token when authenticating.
  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() const;
  // A channel to "host:port" that sends a token with every call when authenticating.
  std::shared_ptr<grpc::Channel> Channel(const std::string& address,
                                         const grpc::ChannelArguments& args) const;

 private:
  Credentials credentials_;
};

// The warning a server listening on `host` logs when it does not authenticate and
// `host` is not loopback; empty when there is nothing to warn of.
std::string InsecureListenWarning(std::string_view address, std::string_view host,
                                  const Security& security);

}  // namespace kiln::rpc
