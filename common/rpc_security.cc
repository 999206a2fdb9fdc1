#include "common/rpc_security.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>
#include <vector>

#include "common/check.h"
#include "common/files.h"
#include "common/ports.h"
#include "common/settings.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/subprocess.h"
#include "grpc/grpc.h"
#include "grpc/grpc_security.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/support/client_interceptor.h"
#include "proto/common.pb.h"
#include "spdlog/spdlog.h"

namespace kiln::rpc {
namespace {

constexpr std::string_view kTokenVersion = "v1";

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

std::string HmacHex(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &size);
  return Hex(mac, size);
}

std::string Mac(std::string_view secret, std::string_view method, int64_t unix_ms) {
  return HmacHex(secret, StrCat("kiln-auth-v1\n", method, "\n", unix_ms));
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view SliceView(const grpc_slice& slice) {
  return {reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slice)), GRPC_SLICE_LENGTH(slice)};
}

// The server side: a gRPC auth metadata processor, run by gRPC on every call before it
// is dispatched. The call's token is consumed (handlers never see it).
struct Checker {
  std::string secret;

  static void Process(void* state, grpc_auth_context* /*context*/, const grpc_metadata* md,
                      size_t num_md, grpc_process_auth_metadata_done_cb done, void* user_data) {
    const auto* self = static_cast<const Checker*>(state);
    std::string_view method;
    std::string_view token;
    const grpc_metadata* token_md = nullptr;
    for (size_t i = 0; i < num_md; ++i) {
      std::string_view key = SliceView(md[i].key);
      if (key == ":path") method = SliceView(md[i].value);
      if (key == kAuthMetadataKey) {
        token = SliceView(md[i].value);
        token_md = &md[i];
      }
    }
    absl::Status status = VerifyAuthToken(self->secret, method, token, NowUnixMs());
    if (status.ok()) {
      done(user_data, token_md, 1, nullptr, 0, GRPC_STATUS_OK, nullptr);
      return;
    }
    const std::string message(View(status.message()));
    done(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_UNAUTHENTICATED, message.c_str());
  }
  static void Destroy(void* state) { delete static_cast<Checker*>(state); }
};

// grpc::ServerCredentials whose gRPC core credentials (TLS or plaintext) carry the
// Checker. gRPC's C++ InsecureServerCredentials() refuses a metadata processor; the core
// credentials take one either way.
class KilnServerCredentials final : public grpc::ServerCredentials {
 public:
  explicit KilnServerCredentials(Credentials credentials) : credentials_(std::move(credentials)) {}

  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {
    // Kiln sets its own processor in AddPortToServer; nothing calls this.
  }

 private:
  int AddPortToServer(const std::string& address, grpc_server* server) override {
    grpc_server_credentials* core = nullptr;
    if (credentials_.tls) {
      grpc_ssl_pem_key_cert_pair pair{credentials_.key_pem.c_str(), credentials_.cert_pem.c_str()};
      core = grpc_ssl_server_credentials_create_ex(
          credentials_.ca_pem.c_str(), &pair, 1,
          credentials_.client_auth ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                   : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
          nullptr);
    } else {
      core = grpc_insecure_server_credentials_create();
    }
    if (!credentials_.secret.empty()) {
      grpc_server_credentials_set_auth_metadata_processor(
          core, {&Checker::Process, &Checker::Destroy, new Checker{credentials_.secret}});
    }
    int port = grpc_server_add_http2_port(server, address.c_str(), core);
    grpc_server_credentials_release(core);
    return port;
  }

  const Credentials credentials_;
};

// The client side: adds a token for the call's method to its initial metadata.
class TokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  TokenInterceptor(const std::string* secret, std::string method)
      : secret_(secret), method_(std::move(method)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(std::string(kAuthMetadataKey),
                                                 AuthToken(*secret_, method_, NowUnixMs()));
    }
    methods->Proceed();
  }

 private:
  const std::string* secret_;  // owned by the factory, which the channel keeps
  const std::string method_;
};

class TokenInterceptorFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(std::string secret) : secret_(std::move(secret)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new TokenInterceptor(&secret_, info->method());
  }

 private:
  const std::string secret_;
};

absl::StatusOr<std::string> ReadSettingFile(const Config& conf, std::string_view key) {
  const std::string path = conf.GetString(key);
  if (path.empty()) {
    return absl::InvalidArgumentError(
        StrCat("setting ", key, ": required when ",
               key.starts_with("kiln.ssl") ? "kiln.ssl.enabled" : "kiln.authenticate", " is true"));
  }
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(StrCat("setting ", key, ": ", View(text.status().message())));
  }
  return text;
}

// True for the environment entry "KILN_AUTH_SECRET=...".
bool IsSecretEntry(std::string_view entry) {
  return entry.size() > kSecretEnvVar.size() && entry.starts_with(kSecretEnvVar) &&
         entry[kSecretEnvVar.size()] == '=';
}

absl::StatusOr<std::string> LoadSecret(const Config& conf, char** environ) {
  std::string secret;
  std::string source;
  if (conf.IsSet("kiln.authenticate.secretFile")) {
    ASSIGN_OR_RETURN(secret, ReadSettingFile(conf, "kiln.authenticate.secretFile"));
    const std::string path = conf.GetString("kiln.authenticate.secretFile");
    source = StrCat("setting kiln.authenticate.secretFile (", path, ")");
    struct stat st {};
    if (stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      spdlog::warn("{}: other users can read the secret; chmod 600 it", source);
    }
  } else {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      if (IsSecretEntry(*e)) secret = *e + kSecretEnvVar.size() + 1;
    }
    source = std::string(kSecretEnvVar);
  }
  secret = std::string(StripWhitespace(secret));
  if (secret.empty()) {
    return absl::InvalidArgumentError(
        StrCat("setting kiln.authenticate is true but there is no secret: name a file with "
               "kiln.authenticate.secretFile or set ",
               kSecretEnvVar, " (generate one with: head -c 32 /dev/urandom | base64)"));
  }
  if (secret.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError(StrCat(source, ": the secret has ", secret.size(),
                                             " bytes; at least ", kMinSecretBytes,
                                             " are required (head -c 32 /dev/urandom | base64)"));
  }
  return secret;
}

}  // namespace

absl::StatusOr<Credentials> LoadCredentials(const Config& conf, char** environ) {
  Credentials out;
  if (conf.GetBool("kiln.authenticate")) {
    ASSIGN_OR_RETURN(out.secret, LoadSecret(conf, environ));
  }
  if (conf.GetBool("kiln.ssl.enabled")) {
    out.tls = true;
    ASSIGN_OR_RETURN(out.cert_pem, ReadSettingFile(conf, "kiln.ssl.certFile"));
    ASSIGN_OR_RETURN(out.key_pem, ReadSettingFile(conf, "kiln.ssl.keyFile"));
    ASSIGN_OR_RETURN(out.ca_pem, ReadSettingFile(conf, "kiln.ssl.caFile"));
    out.client_auth = conf.GetBool("kiln.ssl.clientAuth");
  }
  return out;
}

std::vector<std::string> EnvironmentWithoutSecret(char** environ) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!IsSecretEntry(*e)) out.emplace_back(*e);
  }
  return out;
}

std::string EncodeCredentials(const Credentials& credentials) {
  proto::ExecutorCredentials message;
  message.set_secret(credentials.secret);
  message.set_tls(credentials.tls);
  message.set_cert_pem(credentials.cert_pem);
  message.set_key_pem(credentials.key_pem);
  message.set_ca_pem(credentials.ca_pem);
  message.set_client_auth(credentials.client_auth);
  message.set_executor_token(credentials.executor_token);
  return message.SerializeAsString();
}

absl::StatusOr<Credentials> DecodeCredentials(std::string_view bytes) {
  proto::ExecutorCredentials message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError("malformed credentials");
  }
  return Credentials{.secret = message.secret(),
                     .tls = message.tls(),
                     .cert_pem = message.cert_pem(),
                     .key_pem = message.key_pem(),
                     .ca_pem = message.ca_pem(),
                     .client_auth = message.client_auth(),
                     .executor_token = message.executor_token()};
}

absl::StatusOr<Credentials> ReadCredentialsFromStdin() {
  std::string bytes;
  char buf[4096];
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot read the credentials on stdin");
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
    if (bytes.size() > kMaxStdinBytes) return absl::InvalidArgumentError("credentials too large");
  }
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0 && devnull != STDIN_FILENO) {
    dup2(devnull, STDIN_FILENO);
    close(devnull);
  }
  return DecodeCredentials(bytes);
}

std::string RandomToken() {
  unsigned char bytes[32];
  KILN_CHECK(RAND_bytes(bytes, sizeof(bytes)) == 1, "no random bytes from OpenSSL");
  return Hex(bytes, sizeof(bytes));
}

bool TokenMatches(std::string_view expected, std::string_view given) {
  return !expected.empty() && expected.size() == given.size() &&
         CRYPTO_memcmp(expected.data(), given.data(), given.size()) == 0;
}

std::string ExecutorToken(std::string_view app_token, int executor_id) {
  return HmacHex(app_token, StrCat("kiln-executor-v1\n", executor_id));
}

std::string AuthToken(std::string_view secret, std::string_view method, int64_t unix_ms) {
  return StrCat(kTokenVersion, ":", unix_ms, ":", Mac(secret, method, unix_ms));
}

absl::Status VerifyAuthToken(std::string_view secret, std::string_view method,
                             std::string_view token, int64_t now_unix_ms) {
  if (token.empty()) {
    return absl::UnauthenticatedError(
        "this server requires authentication (kiln.authenticate) and the call carried none");
  }
  std::vector<std::string_view> parts = Split(token, ':');
  int64_t unix_ms = 0;
  if (parts.size() != 3 || parts[0] != kTokenVersion || !ParseNumber(parts[1], &unix_ms)) {
    return absl::UnauthenticatedError("malformed kiln-auth token");
  }
  if (!TokenMatches(Mac(secret, method, unix_ms), parts[2])) {
    return absl::UnauthenticatedError(
        "wrong secret: the caller's kiln.authenticate secret differs from this server's");
  }
  const int64_t skew_ms = unix_ms - now_unix_ms;
  const int64_t max_ms = std::chrono::milliseconds(kMaxClockSkew).count();
  if (skew_ms > max_ms || skew_ms < -max_ms) {
    return absl::UnauthenticatedError(
        StrCat("the caller's clock is ", (skew_ms < 0 ? -skew_ms : skew_ms) / 1000, " s ",
               skew_ms < 0 ? "behind" : "ahead of", " this server's; tokens are valid for ",
               kMaxClockSkew.count(), " min either side: keep the machines' clocks in sync (NTP)"));
  }
  return absl::OkStatus();
}

std::shared_ptr<const Security> Security::None() {
  static const auto* none =
      new std::shared_ptr<const Security>(std::make_shared<Security>(Credentials{}));
  return *none;
}

std::string Security::Describe() const {
  std::string tls = "off";
  if (credentials_.tls) tls = credentials_.client_auth ? "on, with client certificates" : "on";
  return StrCat("authentication ", authenticates() ? "on" : "off", ", TLS ", tls);
}

std::shared_ptr<grpc::ServerCredentials> Security::ServerCredentials() const {
  return std::make_shared<KilnServerCredentials>(credentials_);
}

std::shared_ptr<grpc::Channel> Security::Channel(const std::string& address,
                                                 const grpc::ChannelArguments& args) const {
  std::shared_ptr<grpc::ChannelCredentials> transport = grpc::InsecureChannelCredentials();
  if (credentials_.tls) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = credentials_.ca_pem;
    tls.pem_cert_chain = credentials_.cert_pem;
    tls.pem_private_key = credentials_.key_pem;
    transport = grpc::SslCredentials(tls);
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  if (authenticates()) {
    interceptors.push_back(std::make_unique<TokenInterceptorFactory>(credentials_.secret));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(address, transport, args,
                                                                 std::move(interceptors));
}

std::string InsecureListenWarning(std::string_view address, std::string_view host,
                                  const Security& security) {
  if (security.authenticates() || IsLoopbackHost(host)) return "";
  return StrCat("SECURITY WARNING: serving on ", address,
                " without authentication: anyone who can reach this port can use it, and "
                "through it run code on the cluster. Set kiln.authenticate=true with a secret "
                "(README: Security)");
}

}  // namespace kiln::rpc
